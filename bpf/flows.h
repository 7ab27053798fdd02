/* Layouts shared by flows.bpf.c and its TypeScript decoder (src/collector/kernel/flows-layout.ts).
 * Every field is explicitly sized and padded so the byte offsets are the same on both sides. */
#ifndef WEFT_FLOWS_H
#define WEFT_FLOWS_H

#define FLOW_DIR_INGRESS 0
#define FLOW_DIR_EGRESS 1

/* Indexes of the per-CPU `flow_counters` array. */
enum flow_counter {
	FLOW_CNT_UNPARSED = 0,  /* truncated/malformed or an IPv6 extension header we cannot walk */
	FLOW_CNT_OVERFLOW = 1,  /* flow map full: the packet went to the ring buffer instead */
	FLOW_CNT_RING_LOST = 2, /* map full and ring buffer full: the only way a packet is lost */
	FLOW_CNT_NON_IP = 3,    /* ARP, LLDP, ...: not flows, counted so nothing is silent */
	FLOW_CNT_SAMPLED_OUT = 4,
	FLOW_CNT_FILTERED = 5,
	FLOW_CNT_MAX = 8,
};

/* 48 bytes. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d) so one key fits both families. */
struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;     /* host order; ICMP: type */
	__u16 dport;     /* host order; ICMP: code */
	__u32 ifindex;
	__u32 netns;     /* inode of the interface's network namespace: ifindexes repeat across netns */
	__u8 proto;      /* IPPROTO_* */
	__u8 direction;  /* FLOW_DIR_* */
	__u16 pad;
};

/* 48 bytes. */
struct flow_value {
	__u64 packets;        /* GSO super-packets count as their gso_segs */
	__u64 bytes;          /* IP bytes of every (segmented) packet: headers x segs + payload */
	__u64 payload_bytes;  /* transport payload, independent of segmentation */
	__u64 first_ns;       /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC at tick resolution */
	__u64 last_ns;
	__u64 tcp_flags;      /* union of TCP flags (FIN=0x01 ... CWR=0x80); 64-bit for atomic or */
};

/* Ring buffer record for a packet that found the flow map full: a one-packet flow. */
struct flow_event {
	struct flow_key key;
	struct flow_value value;
};

#endif
