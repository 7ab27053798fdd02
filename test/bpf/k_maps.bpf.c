// Addon test maps (no programs): a hash map for batch reads and the bench, a per-CPU hash map
// whose values user space sees once per possible CPU, and an array.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct k_value {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u64);
  __type(value, struct k_value);
} hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u32);
} percpu SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} array SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
