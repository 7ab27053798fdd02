// SPDX-License-Identifier: GPL-2.0
/* Flow table: one TC (sched_cls) program counting packets and bytes per 5-tuple, interface and
 * direction. It never decides a packet's fate: it returns TC_ACT_UNSPEC, which is also TCX_NEXT,
 * so whatever else is attached to the interface keeps working.
 *
 * Direction: two entry points (flows_ingress, flows_egress) share one always-inline function with
 * the direction as a constant. skb->ingress_ifindex cannot tell the two apart for a packet that
 * leaves by the interface it came in on, and a .rodata flag would need one object per direction.
 *
 * The table is an open-addressing hash table in an ARRAY map (flows-table.h), not a HASH map: the
 * verifier inlines array lookups, the hash is three multiplies, and a packet of a known flow costs
 * no helper call at all. Counts stay exact and shared: the CPU that created a flow's slot adds to
 * its `own` counters with plain adds (programs do not nest on one CPU, so it is their only
 * writer), any other CPU adds to `others` with atomic adds; a drain sums the two.
 *
 * Exact draining: counters go to the half of flow_table that flow_half names, read once per
 * packet. Userspace switches flow_half, then updates the slot of flow_grace, an array of maps
 * that exists only for this: the kernel returns from updating a map-in-map slot only after
 * synchronize_rcu() (maybe_wait_bpf_programs in kernel/bpf/syscall.c), and TC programs run inside
 * RCU read-side sections, so when it returns no program still writes the old half: flows_drain
 * (run by userspace with BPF_PROG_TEST_RUN) then copies its flows out and empties it, alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "flows.h"
#include "flows-parse.h"

/* Configuration, set by the loader before load (the verifier then prunes what is off). */
const volatile __u32 sampling = 1;         /* count 1 packet in N */
const volatile __u32 filter_protocols = 0; /* bitmask of FILTER_PROTO_*; 0 = every protocol */
const volatile __u32 filter_port_count = 0;
const volatile __u16 filter_ports[8] = {}; /* TCP/UDP packets must have one as source or destination */

#define FILTER_PROTO_TCP 1
#define FILTER_PROTO_UDP 2
#define FILTER_PROTO_ICMP 4
#define FILTER_PROTO_OTHER 8

#include "flows-table.h"

/* Never read by a program: updating its slot is how userspace waits for an RCU grace period. */
struct flow_grace_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_grace_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct flow_grace_inner);
} flow_grace SEC(".maps") = {
	.values = { [0] = &flow_grace_inner },
};

/* Where flows_drain copies a drained table's flows, up to this many per run. */
#define DRAIN_BATCH 4096
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DRAIN_BATCH);
	__type(key, __u32);
	__type(value, struct flow_event);
} flow_drain_out SEC(".maps");

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

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&flow_counters, &which);

	if (c)
		*c += 1; /* per-CPU, and a TC program does not nest on one CPU */
}

/* A packet whose flow has no slot: the table is full, or another CPU is creating a slot in this
 * flow's probe range right now. Userspace gets it as a one-packet flow: never silently lost. */
static __always_inline void overflow(const struct flow_key *key, const struct flow_counts *c, __u64 now,
				     __u32 counter)
{
	struct flow_event *e = bpf_ringbuf_reserve(&flow_overflow, sizeof(*e), 0);

	if (!e) {
		count(FLOW_CNT_RING_LOST);
		return;
	}
	__builtin_memcpy(&e->key, key, sizeof(*key));
	e->value.packets = c->packets;
	e->value.bytes = c->bytes;
	e->value.payload_bytes = c->payload_bytes;
	e->value.first_ns = now;
	e->value.last_ns = now;
	e->value.tcp_flags = c->tcp_flags;
	bpf_ringbuf_submit(e, 0);
	count(counter);
}

static __always_inline void account(const struct flow_key *key, const struct flow_counts *c)
{
	__u32 base = active_base();
	struct flow_slot *s = table_find(base, key);

	if (s) {
		table_add(s, c);
		return;
	}
	/* New flow, in the first packet of each drain interval only: tick resolution is plenty. */
	__u64 now = bpf_ktime_get_coarse_ns();
	int r = table_insert(base, key, c, now);
	if (r == TABLE_FULL)
		overflow(key, c, now, FLOW_CNT_OVERFLOW);
	else if (r == TABLE_BUSY)
		overflow(key, c, now, FLOW_CNT_RACED);
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
	r = parse_packet(skb, &p, &key, &l4);
	if (r == PARSE_NON_IP) {
		count(FLOW_CNT_NON_IP);
		return TC_ACT_UNSPEC;
	}
	if (r != PARSE_OK) {
		count(FLOW_CNT_UNPARSED);
		return TC_ACT_UNSPEC;
	}
	if (!passes_filters(&key, p.proto)) {
		count(FLOW_CNT_FILTERED);
		return TC_ACT_UNSPEC;
	}
	key_location(skb, &key, p.proto, direction);

	/* A GSO super-packet leaves as gso_segs packets, each with its own copy of the headers. */
	__u32 hdrs = p.l4_off - p.l3_off + l4.hdr_len;
	__u64 segs = skb->gso_size && skb->gso_segs > 1 ? skb->gso_segs : 1;
	__u64 payload = p.ip_len - hdrs;
	struct flow_counts c = {
		.packets = segs,
		.bytes = payload + hdrs * segs,
		.payload_bytes = payload,
		.tcp_flags = l4.flags,
	};

	account(&key, &c);
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

/* Drain: run by userspace (BPF_PROG_TEST_RUN) on a table no program writes any more (see the top of
 * this file). The packet is a struct flow_drain_args. From args.cursor on, it copies each flow into
 * flow_drain_out, summing the owner's and the other CPUs' counts, and empties its slot, until the
 * table ends or flow_drain_out is full; userspace reads flow_drain_out and runs it again from the
 * returned cursor. */
/* flows_drain's progress, in a global rather than on the stack: the verifier follows stack values
 * exactly through bpf_loop iterations, and a counter there would make it walk every value. */
struct {
	__u32 base;
	__u32 cursor;
	__u32 count;
} drain;

static long drain_slot(__u64 i, void *unused)
{
	__u32 idx = drain.base + drain.cursor;
	struct flow_slot *s;
	struct flow_event *e;

	if (drain.count >= DRAIN_BATCH || drain.cursor >= HALF_SLOTS)
		return 1;
	s = bpf_map_lookup_elem(&flow_table, &idx);
	if (!s)
		return 1;
	drain.cursor++;
	if (idx == drain.base) {
		s->own.packets = 0; /* the header: no slot claimed any more */
		return 0;
	}
	if (s->state == FLOW_SLOT_EMPTY)
		return 0;
	e = bpf_map_lookup_elem(&flow_drain_out, &drain.count);
	if (!e)
		return 1;
	__builtin_memcpy(&e->key, &s->key, sizeof(s->key));
	e->value.packets = s->own.packets + s->others.packets;
	e->value.bytes = s->own.bytes + s->others.bytes;
	e->value.payload_bytes = s->own.payload_bytes + s->others.payload_bytes;
	e->value.tcp_flags = s->own.tcp_flags | s->others.tcp_flags;
	e->value.first_ns = s->first_ns;
	e->value.last_ns = s->last_ns;
	__builtin_memset(s, 0, sizeof(*s));
	drain.count++;
	return 0;
}

SEC("tc")
int flows_drain(struct __sk_buff *skb)
{
	struct flow_drain_args *args = (void *)(long)skb->data;

	if ((void *)(args + 1) > (void *)(long)skb->data_end)
		return -1;
	drain.base = args->half ? HALF_SLOTS : 0;
	drain.cursor = args->cursor;
	drain.count = 0;
	bpf_loop(HALF_SLOTS, drain_slot, NULL, 0);
	args->cursor = drain.cursor;
	args->count = drain.count;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
