// SPDX-License-Identifier: GPL-2.0
/* DNS answers for naming addresses: a TC (sched_cls) program that copies the payload of every UDP
 * packet from source port 53 (IPv4 and IPv6) into a ring buffer. Parsing stays in userspace
 * (src/collector/resolve/dns/dns-message.ts), where a malformed answer costs an error string, not
 * a verifier fight. It never decides a packet's fate: TC_ACT_UNSPEC is also TCX_NEXT.
 *
 * Not covered (answers go unnamed, nothing breaks): DNS over TCP, IP fragments, IPv6 extension
 * headers before UDP, VLAN tags, and devices without an Ethernet header. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_ACT_UNSPEC (-1)
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define DNS_PORT 53
/* Classic DNS over UDP is at most 512 bytes; EDNS answers may be longer and are cut there (the
 * parser then reads the records that fit and reports the rest as truncated). */
#define DNS_MAX 512

/* One answer as userspace reads it: keep in step with dns-sniffer.ts. */
struct dns_event {
	__u32 ifindex;
	__u16 len;     /* bytes of payload that follow */
	__u16 pad;
	__u8 payload[DNS_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} dns_events SEC(".maps");

/* Answers dropped because the ring buffer was full (userspace reads it as a health figure). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} dns_lost SEC(".maps");

SEC("tc")
int dns_answers(struct __sk_buff *skb)
{
	__u32 off = ETH_HLEN;
	__u8 proto;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)))
			return TC_ACT_UNSPEC;
		/* Only whole datagrams or first fragments carry the UDP header; skip the rest. */
		if (ip.frag_off & bpf_htons(IP_MF | IP_OFFSET))
			return TC_ACT_UNSPEC;
		proto = ip.protocol;
		off += ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)))
			return TC_ACT_UNSPEC;
		proto = ip6.nexthdr;
		off += sizeof(ip6);
	} else {
		return TC_ACT_UNSPEC;
	}
	if (proto != IPPROTO_UDP)
		return TC_ACT_UNSPEC;

	struct udphdr udp;

	if (bpf_skb_load_bytes(skb, off, &udp, sizeof(udp)))
		return TC_ACT_UNSPEC;
	if (udp.source != bpf_htons(DNS_PORT))
		return TC_ACT_UNSPEC;
	off += sizeof(udp);

	/* The UDP length says how much is DNS; the skb may hold less (a cut capture) or padding. */
	__u32 len = bpf_ntohs(udp.len);

	if (len <= sizeof(udp))
		return TC_ACT_UNSPEC;
	len -= sizeof(udp);
	if (off >= skb->len)
		return TC_ACT_UNSPEC;
	if (len > skb->len - off)
		len = skb->len - off;
	if (len > DNS_MAX)
		len = DNS_MAX;

	struct dns_event *e = bpf_ringbuf_reserve(&dns_events, sizeof(*e), 0);

	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&dns_lost, &zero);

		if (lost)
			*lost += 1;
		return TC_ACT_UNSPEC;
	}
	e->ifindex = skb->ifindex;
	e->pad = 0;
	/* Restate the bound as a mask the verifier can follow (1..DNS_MAX; len is already in that
	 * range, so this changes nothing); the barrier stops clang from folding the mask away. */
	barrier_var(len);
	len = ((len - 1) & (DNS_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, off, e->payload, len)) {
		bpf_ringbuf_discard(e, 0);
		return TC_ACT_UNSPEC;
	}
	e->len = len;
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
