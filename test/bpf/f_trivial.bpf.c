// SPDX-License-Identifier: GPL-2.0
/* Baseline for the flows bench: the cheapest useful TC program, one array-map increment. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} f_trivial_count SEC(".maps");

SEC("tc")
int f_trivial(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *c = bpf_map_lookup_elem(&f_trivial_count, &zero);

	if (c)
		__sync_fetch_and_add(c, 1);
	return -1; /* TC_ACT_UNSPEC */
}

char LICENSE[] SEC("license") = "GPL";
