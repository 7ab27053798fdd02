/* Packet parsing for flows.bpf.c (and the bench's stage programs in test/bpf/f_stages.bpf.c, which
 * time it alone): Ethernet, VLAN, IPv4, IPv6 extension headers, TCP/UDP/ICMP into a flow_key. */
#ifndef WEFT_FLOWS_PARSE_H
#define WEFT_FLOWS_PARSE_H

#include <bpf/bpf_endian.h>

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

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

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

/* Headers pulled into the linear area when a driver left them in paged data. */
#define MAX_HEADER_BYTES 256

/* Parses the packet into key (addresses, ports) and p/l4, pulling paged headers in once. */
static __always_inline int parse_packet(struct __sk_buff *skb, struct parsed *p, struct flow_key *key,
					struct l4_info *l4)
{
	int r = parse(skb, p, key, l4);

	if (r == PARSE_SHORT && skb->len > skb->data_end - skb->data) {
		/* Some drivers leave headers in paged data: make them linear once and read again. */
		if (bpf_skb_pull_data(skb, skb->len < MAX_HEADER_BYTES ? skb->len : MAX_HEADER_BYTES))
			return PARSE_BAD;
		__builtin_memset(key, 0, sizeof(*key));
		r = parse(skb, p, key, l4);
	}
	return r == PARSE_SHORT ? PARSE_BAD : r;
}

/* The rest of the key: where the packet was seen. */
static __always_inline void key_location(struct __sk_buff *skb, struct flow_key *key, __u8 proto,
					 __u8 direction)
{
	struct sk_buff *kskb = bpf_cast_to_kern_ctx(skb);

	key->proto = proto;
	key->direction = direction;
	key->ifindex = skb->ifindex;
	key->netns = kskb->dev->nd_net.net->ns.inum;
}

#endif
