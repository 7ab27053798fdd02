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
	FLOW_CNT_RACED = 6,     /* its flow's slot was being created on another CPU: ring buffer too */
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

/* What one packet adds to a flow. */
struct flow_counts {
	__u64 packets;
	__u64 bytes;
	__u64 payload_bytes;
	__u64 tcp_flags;
};

#define FLOW_SLOT_EMPTY 0
#define FLOW_SLOT_BUSY 1  /* claimed by a CPU that is writing the key */
#define FLOW_SLOT_READY 2

/* 144 bytes: one slot of the open-addressing flow table (flows-table.h). Slot 0 of each half is
 * its header instead: own.packets counts the slots claimed, to hold exactly `capacity` flows. */
struct flow_slot {
	struct flow_key key;
	__u32 state;               /* FLOW_SLOT_* */
	__u32 owner;               /* the CPU that created the slot, the only one that writes `own` */
	__u64 last_jiffies;        /* last_ns is re-read only when this tick differs */
	struct flow_counts own;    /* plain adds by the owner CPU */
	struct flow_counts others; /* atomic adds by any other CPU */
	__u64 first_ns;
	__u64 last_ns;
};

/* Arguments and results of flows_drain, passed as its test-run packet. */
struct flow_drain_args {
	__u32 half;   /* in: the half of flow_table to drain, 0 or 1 */
	__u32 cursor; /* in: first slot of the half to read; out: where to go on */
	__u32 count;  /* out: flows written to flow_drain_out[0..count) */
	__u32 pad;
};

/* Ring buffer record for a packet that found the flow map full (a one-packet flow), and a drained flow. */
struct flow_event {
	struct flow_key key;
	struct flow_value value;
};

#endif
