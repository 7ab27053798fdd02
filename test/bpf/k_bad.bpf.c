// Addon test program that clang compiles and the verifier must reject: it dereferences a map
// value without checking the lookup for NULL (a hash map: unlike an array, its lookups can miss). The test expects this log in the thrown Error.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} values SEC(".maps");

SEC("tc")
int unchecked(struct __sk_buff *skb) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&values, &key);
  return *v;
}

char LICENSE[] SEC("license") = "GPL";
