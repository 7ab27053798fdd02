// Addon test maps (no programs): a hash map for batch reads and the bench, a per-CPU hash map
// whose values user space sees once per possible CPU, an array, and an LPM trie (no batch
// operations in the kernel: reads fall back to one key at a time).
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

struct lpm_v4 {
  __u32 prefixlen;
  __u32 addr;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 16);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct lpm_v4);
  __type(value, __u32);
} trie SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
