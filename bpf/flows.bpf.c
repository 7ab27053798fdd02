// SPDX-License-Identifier: GPL-2.0
/* Flow table: one TC (sched_cls) program counting packets and bytes per 5-tuple, interface and
 * direction. It never decides a packet's fate: it returns TC_ACT_UNSPEC, which is also TCX_NEXT,
 * so whatever else is attached to the interface keeps working.
 *
 * Direction: two entry points (flows_ingress, flows_egress) share one always-inline function with
 * the direction as a constant. skb->ingress_ifindex cannot tell the two apart for a packet that
 * leaves by the interface it came in on, and a .rodata flag would need one object per direction.
 *
 * Exact draining: counters go to whichever hash map slot 0 of flows_active points at. Userspace
 * points the slot at the other map, and the kernel's update of a map-in-map slot returns only
 * after synchronize_rcu() (maybe_wait_bpf_programs in kernel/bpf/syscall.c), so when it returns
 * no program still holds the old map: userspace then drains it with lookup-and-delete, alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "flows.h"

#define TC_ACT_UNSPEC (-1)
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPV6_MAX_EXT_HEADERS 6
/* IPv6 protocol numbers vmlinux.h lacks (they are #defines in the uapi headers). */
#define IPPROTO_HOPOPTS 0
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_ICMPV6 58
#define IPPROTO_DSTOPTS 60

/* Configuration, set by the loader before load (the verifier then prunes what is off). */
const volatile __u32 sampling = 1;         /* count 1 packet in N */
const volatile __u32 filter_protocols = 0; /* bitmask of FILTER_PROTO_*; 0 = every protocol */
const volatile __u32 filter_port_count = 0;
const volatile __u16 filter_ports[8] = {}; /* TCP/UDP packets must have one as source or destination */

#define FILTER_PROTO_TCP 1
#define FILTER_PROTO_UDP 2
#define FILTER_PROTO_ICMP 4
#define FILTER_PROTO_OTHER 8

struct flow_hash {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} flows_a SEC(".maps"), flows_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct flow_hash);
} flows_active SEC(".maps") = {
	.values = { [0] = &flows_a },
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} flow_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} flow_counters SEC(".maps");

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&flow_counters, &which);

	if (c)
		*c += 1; /* per-CPU, and a TC program does not nest on one CPU */
}

struct l4_info {
	__u32 hdr_len; /* transport header length */
	__u64 flags;
};

/* What the headers told us, before accounting. */
struct parsed {
	__u32 l3_off;  /* where the IP header starts */
	__u32 l4_off;  /* where the transport header starts */
	__u32 ip_len;  /* IP bytes of this skb (a GSO super-packet: all of it) */
	__u8 proto;
	__u8 has_l4;   /* false for non-first fragments */
};

enum parse_result {
	PARSE_OK = 0,
	PARSE_BAD = 1,    /* malformed or truncated: counted as unparsed */
	PARSE_SHORT = 2,  /* headers run past the linear data: pull them in and parse again */
	PARSE_NON_IP = 3,
};

/* Headers are read in place (direct packet access): a bounds check per header, no copies. */
#define IN_PACKET(ptr, len, end) ((void *)(ptr) + (len) <= (end))

static __always_inline int parse_l4(void *data, void *end, struct parsed *p, struct flow_key *key,
				    struct l4_info *l4)
{
	__u32 off = p->l4_off;

	l4->hdr_len = 0;
	l4->flags = 0;
	if (!p->has_l4)
		return PARSE_OK;
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + off;

		if (!IN_PACKET(tcp, sizeof(*tcp), end))
			return PARSE_SHORT;
		if (tcp->doff < 5)
			return PARSE_BAD;
		l4->hdr_len = tcp->doff * 4;
		key->sport = bpf_ntohs(tcp->source);
		key->dport = bpf_ntohs(tcp->dest);
		l4->flags = ((__u8 *)tcp)[13];
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *udp = data + off;

		if (!IN_PACKET(udp, sizeof(*udp), end))
			return PARSE_SHORT;
		l4->hdr_len = sizeof(*udp);
		key->sport = bpf_ntohs(udp->source);
		key->dport = bpf_ntohs(udp->dest);
	} else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		__u8 *icmp = data + off;

		if (!IN_PACKET(icmp, 2, end))
			return PARSE_SHORT;
		l4->hdr_len = 8; /* type, code, checksum and the 4-byte rest of header */
		key->sport = icmp[0];
		key->dport = icmp[1];
	}
	/* A transport header longer than the IP packet is malformed. */
	if (off - p->l3_off + l4->hdr_len > p->ip_len)
		return PARSE_BAD;
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct __sk_buff *skb, void *data, void *end, struct parsed *p,
				      struct flow_key *key)
{
	struct iphdr *ip = data + p->l3_off;

	if (!IN_PACKET(ip, sizeof(*ip), end))
		return PARSE_SHORT;
	if (ip->version != 4 || ip->ihl < 5)
		return PARSE_BAD;
	__u32 avail = skb->len - p->l3_off;
	/* A GSO super-packet's tot_len may be 0 (BIG TCP) or stale: its length is the skb's. */
	p->ip_len = skb->gso_size ? avail : bpf_ntohs(ip->tot_len);
	if (p->ip_len > avail || p->ip_len < ip->ihl * 4)
		return PARSE_BAD;
	key->saddr[10] = key->saddr[11] = 0xff;
	key->daddr[10] = key->daddr[11] = 0xff;
	__builtin_memcpy(&key->saddr[12], &ip->saddr, 4);
	__builtin_memcpy(&key->daddr[12], &ip->daddr, 4);
	p->proto = ip->protocol;
	p->l4_off = p->l3_off + ip->ihl * 4;
	p->has_l4 = !(ip->frag_off & bpf_htons(0x1fff)); /* offset 0: the transport header is here */
	return PARSE_OK;
}

static __always_inline int parse_ipv6(struct __sk_buff *skb, void *data, void *end, struct parsed *p,
				      struct flow_key *key)
{
	struct ipv6hdr *ip6 = data + p->l3_off;

	if (!IN_PACKET(ip6, sizeof(*ip6), end))
		return PARSE_SHORT;
	if (ip6->version != 6)
		return PARSE_BAD;
	__u32 avail = skb->len - p->l3_off;
	__u32 plen = bpf_ntohs(ip6->payload_len);
	if (skb->gso_size)
		p->ip_len = avail;
	else if (plen == 0)
		return PARSE_BAD; /* jumbogram or malformed: we do not walk hop-by-hop jumbo options */
	else
		p->ip_len = sizeof(*ip6) + plen;
	if (p->ip_len > avail)
		return PARSE_BAD;
	__builtin_memcpy(key->saddr, &ip6->saddr, 16);
	__builtin_memcpy(key->daddr, &ip6->daddr, 16);

	__u8 next = ip6->nexthdr;
	__u32 off = sizeof(*ip6);
	p->has_l4 = 1;
	for (int i = 0; i < IPV6_MAX_EXT_HEADERS; i++) {
		__u8 *hdr = data + p->l3_off + off;
		__u32 len;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (!IN_PACKET(hdr, 2, end))
				return PARSE_SHORT;
			len = (hdr[1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (!IN_PACKET(hdr, 2, end))
				return PARSE_SHORT;
			len = (hdr[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (!IN_PACKET(hdr, 8, end))
				return PARSE_SHORT;
			len = 8;
			/* fragment offset is the top 13 bits of bytes 2-3; later fragments carry no L4 header */
			if (((hdr[2] << 8) | hdr[3]) & 0xfff8)
				p->has_l4 = 0;
			break;
		default:
			goto done;
		}
		next = hdr[0];
		off += len;
		if (off > p->ip_len)
			return PARSE_BAD;
		if (!p->has_l4)
			goto done;
	}
	if (next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_DSTOPTS ||
	    next == IPPROTO_AH || next == IPPROTO_FRAGMENT)
		return PARSE_BAD; /* more extension headers than we walk */
done:
	p->proto = next;
	p->l4_off = p->l3_off + off;
	return PARSE_OK;
}

static __always_inline int parse(struct __sk_buff *skb, struct parsed *p, struct flow_key *key,
				 struct l4_info *l4)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	int r;

	if (!IN_PACKET(eth, sizeof(*eth), end))
		return PARSE_SHORT;
	__be16 h_proto = eth->h_proto;
	p->l3_off = sizeof(*eth);
	/* 802.1Q and 802.1AD (QinQ): at most two tags in the packet (an offloaded tag is not in it). */
	for (int i = 0; i < 2; i++) {
		if (h_proto != bpf_htons(ETH_P_8021Q) && h_proto != bpf_htons(ETH_P_8021AD))
			break;
		__be16 *tag = data + p->l3_off;

		if (!IN_PACKET(tag, 4, end))
			return PARSE_SHORT;
		h_proto = tag[1];
		p->l3_off += 4;
	}
	if (h_proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(skb, data, end, p, key);
	else if (h_proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(skb, data, end, p, key);
	else if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD))
		return PARSE_BAD; /* a third tag */
	else
		return PARSE_NON_IP;
	if (r != PARSE_OK)
		return r;
	return parse_l4(data, end, p, key, l4);
}

static __always_inline void add(struct flow_value *v, __u64 segs, __u64 bytes, __u64 payload,
				__u64 flags, __u64 now)
{
	__sync_fetch_and_add(&v->packets, segs);
	__sync_fetch_and_add(&v->bytes, bytes);
	__sync_fetch_and_add(&v->payload_bytes, payload);
	v->last_ns = now;
	if ((v->tcp_flags & flags) != flags)
		__sync_fetch_and_or(&v->tcp_flags, flags);
}

static __always_inline void account(struct flow_key *key, __u64 segs, __u64 bytes, __u64 payload,
				    __u64 flags)
{
	__u32 zero = 0;
	/* Tick resolution is plenty for first/last seen, and far cheaper than a clock read. */
	__u64 now = bpf_ktime_get_coarse_ns();
	void *flows = bpf_map_lookup_elem(&flows_active, &zero);
	struct flow_value *v;

	if (!flows)
		return;
	v = bpf_map_lookup_elem(flows, key);
	if (v) {
		add(v, segs, bytes, payload, flags, now);
		return;
	}
	struct flow_value nv = {
		.packets = segs,
		.bytes = bytes,
		.payload_bytes = payload,
		.first_ns = now,
		.last_ns = now,
		.tcp_flags = flags,
	};
	long err = bpf_map_update_elem(flows, key, &nv, BPF_NOEXIST);
	if (!err)
		return;
	if (err == -17 /* EEXIST: another CPU created it first */) {
		v = bpf_map_lookup_elem(flows, key);
		if (v) {
			add(v, segs, bytes, payload, flags, now);
			return;
		}
	}
	/* The map is full: hand the packet to userspace as a one-packet flow. */
	struct flow_event *e = bpf_ringbuf_reserve(&flow_overflow, sizeof(*e), 0);
	if (!e) {
		count(FLOW_CNT_RING_LOST);
		return;
	}
	__builtin_memcpy(&e->key, key, sizeof(*key));
	__builtin_memcpy(&e->value, &nv, sizeof(nv));
	bpf_ringbuf_submit(e, 0);
	count(FLOW_CNT_OVERFLOW);
}

static __always_inline int passes_filters(struct flow_key *key, __u8 proto)
{
	if (filter_protocols) {
		__u32 bit = proto == IPPROTO_TCP ? FILTER_PROTO_TCP
			  : proto == IPPROTO_UDP ? FILTER_PROTO_UDP
			  : (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) ? FILTER_PROTO_ICMP
			  : FILTER_PROTO_OTHER;
		if (!(filter_protocols & bit))
			return 0;
	}
	if (filter_port_count && (proto == IPPROTO_TCP || proto == IPPROTO_UDP)) {
		for (int i = 0; i < 8; i++) {
			if (i < filter_port_count &&
			    (filter_ports[i] == key->sport || filter_ports[i] == key->dport))
				return 1;
		}
		return 0;
	}
	return 1;
}

/* Headers pulled into the linear area when a driver left them in paged data. */
#define MAX_HEADER_BYTES 256

static __always_inline int handle(struct __sk_buff *skb, __u8 direction)
{
	struct flow_key key = {};
	struct parsed p = {};
	struct l4_info l4 = {};
	int r;

	if (sampling > 1 && bpf_get_prandom_u32() % sampling) {
		count(FLOW_CNT_SAMPLED_OUT);
		return TC_ACT_UNSPEC;
	}
	r = parse(skb, &p, &key, &l4);
	if (r == PARSE_SHORT && skb->len > skb->data_end - skb->data) {
		/* Some drivers leave headers in paged data: make them linear once and read again. */
		if (bpf_skb_pull_data(skb, skb->len < MAX_HEADER_BYTES ? skb->len : MAX_HEADER_BYTES))
			goto unparsed;
		__builtin_memset(&key, 0, sizeof(key));
		r = parse(skb, &p, &key, &l4);
	}
	if (r == PARSE_NON_IP) {
		count(FLOW_CNT_NON_IP);
		return TC_ACT_UNSPEC;
	}
	if (r != PARSE_OK)
		goto unparsed;
	if (!passes_filters(&key, p.proto)) {
		count(FLOW_CNT_FILTERED);
		return TC_ACT_UNSPEC;
	}

	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);

	key.proto = p.proto;
	key.direction = direction;
	key.ifindex = skb->ifindex;
	key.netns = kskb->dev->nd_net.net->ns.inum;

	/* A GSO super-packet leaves as gso_segs packets, each with its own copy of the headers. */
	__u32 hdrs = p.l4_off - p.l3_off + l4.hdr_len;
	__u64 segs = skb->gso_size && skb->gso_segs > 1 ? skb->gso_segs : 1;
	__u64 payload = p.ip_len - hdrs;

	account(&key, segs, payload + hdrs * segs, payload, l4.flags);
	return TC_ACT_UNSPEC;

unparsed:
	count(FLOW_CNT_UNPARSED);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int flows_ingress(struct __sk_buff *skb)
{
	return handle(skb, FLOW_DIR_INGRESS);
}

SEC("tc")
int flows_egress(struct __sk_buff *skb)
{
	return handle(skb, FLOW_DIR_EGRESS);
}

char LICENSE[] SEC("license") = "GPL";
