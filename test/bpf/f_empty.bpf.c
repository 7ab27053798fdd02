// SPDX-License-Identifier: GPL-2.0
/* Floor of the flows bench: a TC program that does nothing, so the test-run loop's own cost shows. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tc")
int f_empty(struct __sk_buff *skb)
{
	return -1; /* TC_ACT_UNSPEC */
}

char LICENSE[] SEC("license") = "GPL";
