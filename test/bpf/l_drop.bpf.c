// SPDX-License-Identifier: GPL-2.0
/* The links tests' loss injector (this kernel has no netem): on one veth, drops every Nth TCP
 * segment that carries payload, and/or every SYN to one port. Deterministic, so a test that
 * expects retransmits always gets them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP 6
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

/* 0 = off. Set by the test through the loader's rodata option. */
const volatile __u32 drop_every = 0;
const volatile __u16 drop_syn_port = 0;

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} drop_stats SEC(".maps"); /* [0] payload segments seen, [1] packets dropped */

SEC("tc")
int l_drop(struct __sk_buff *skb)
{
	__u32 seen_idx = 0, drop_idx = 1;
	__u32 l4, ip_len, hdr_len;
	__u64 *seen, *dropped, n;
	__u8 doff, flags, proto;
	__u16 dport;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 vhl;

		if (bpf_skb_load_bytes(skb, 14, &vhl, 1) || bpf_skb_load_bytes(skb, 14 + 9, &proto, 1))
			return TC_ACT_OK;
		__u16 tot;
		if (bpf_skb_load_bytes(skb, 14 + 2, &tot, 2))
			return TC_ACT_OK;
		l4 = 14 + (vhl & 0xf) * 4;
		ip_len = bpf_ntohs(tot) - (vhl & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		__u16 plen;

		if (bpf_skb_load_bytes(skb, 14 + 6, &proto, 1) || bpf_skb_load_bytes(skb, 14 + 4, &plen, 2))
			return TC_ACT_OK;
		l4 = 14 + 40;
		ip_len = bpf_ntohs(plen);
	} else {
		return TC_ACT_OK;
	}
	if (proto != IPPROTO_TCP)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, l4 + 2, &dport, 2) || bpf_skb_load_bytes(skb, l4 + 12, &doff, 1) ||
	    bpf_skb_load_bytes(skb, l4 + 13, &flags, 1))
		return TC_ACT_OK;
	hdr_len = (doff >> 4) * 4;

	dropped = bpf_map_lookup_elem(&drop_stats, &drop_idx);
	seen = bpf_map_lookup_elem(&drop_stats, &seen_idx);
	if (!dropped || !seen)
		return TC_ACT_OK;
	/* SYN without ACK: a connection attempt. */
	if (drop_syn_port && (flags & 0x12) == 0x02 && bpf_ntohs(dport) == drop_syn_port) {
		__sync_fetch_and_add(dropped, 1);
		return TC_ACT_SHOT;
	}
	/* GSO super-packets count as one here: retransmits follow from dropping any of them. */
	if (drop_every && ip_len > hdr_len) {
		n = __sync_fetch_and_add(seen, 1) + 1;
		if (n % drop_every == 0) {
			__sync_fetch_and_add(dropped, 1);
			return TC_ACT_SHOT;
		}
	}
	return TC_ACT_OK;
}
