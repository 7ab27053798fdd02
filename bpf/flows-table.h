/* The flow table of flows.bpf.c: open addressing with linear probing in an ARRAY map, in two
 * halves: programs write the half flow_half names, userspace drains the other (flows.bpf.c).
 *
 * Why not a BPF hash map: its lookup is a helper call that hashes the 48-byte key with jhash and
 * walks a bucket list; an array lookup is inlined by the verifier into a bounds check and an
 * address computation. Measured on a known flow (test/bench/flows.bench.ts), the hash map lookup
 * alone cost more than the whole program does now.
 *
 * Layout of a half: slot 0 is a header (own.packets = slots claimed); a key hashes to one of
 * slot_count home slots 1..slot_count and is stored in the first free slot of its home and the
 * FLOW_PROBES - 1 after it (a half has FLOW_PROBES spare slots at the end, so probing never wraps).
 * Slots are never freed while programs write a half: only flows_drain empties it, after the
 * switch. So a flow is always before the first empty slot of its probe range, and a lookup stops
 * there.
 *
 * Creating a slot races with other CPUs: a slot is claimed with a compare-and-exchange
 * (EMPTY -> BUSY), written, then published (BUSY -> READY) with an atomic add, which orders the
 * key before the state. A CPU that finds a BUSY slot in its range while creating a flow cannot
 * know whose flow it will hold, so that packet goes to the overflow ring buffer: rare (two CPUs
 * creating flows in the same few slots within nanoseconds) and still exact. */
#ifndef WEFT_FLOWS_TABLE_H
#define WEFT_FLOWS_TABLE_H

#define FLOW_PROBES 64

/* Set by the loader (src/collector/kernel/flows-program.ts): home slots (about 1.5 × capacity,
 * so probe ranges stay short), flows a half holds, and a random hash seed per load so nobody
 * can choose addresses that collide. */
const volatile __u32 slot_count = 1024;
const volatile __u32 capacity = 1024;
const volatile __u64 hash_seed[3] = { 1, 3, 5 };

/* Slots of one half: its header, the home slots, and FLOW_PROBES spare ones. */
#define HALF_SLOTS (1 + slot_count + FLOW_PROBES)

/* Sized by the loader to 2 × HALF_SLOTS. One array, not two maps behind an array of maps: the
 * verifier inlines lookups only with the map's own size, and inner arrays would have to keep the
 * size the object was compiled with. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * (1 + 1024 + FLOW_PROBES));
	__type(key, __u32);
	__type(value, struct flow_slot);
} flow_table SEC(".maps");

/* Slot 0: the half programs write (0 or 1), set by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_half SEC(".maps");

/* The first slot of the half programs write now. */
static __always_inline __u32 active_base(void)
{
	__u32 zero = 0;
	__u32 *half = bpf_map_lookup_elem(&flow_half, &zero);

	return half && *half ? HALF_SLOTS : 0;
}

/* The key as six 64-bit words, seeded and multiplied in pairs: three independent multiplies.
 * The seeds are odd, so a product stays a bijection of one word when the other is constant (as
 * the upper halves of IPv4-mapped addresses are). Keys that differ in one field only (flows from
 * one client to one server, source ports in a row) then make an arithmetic sequence x·C, whose
 * high bits cluster for some seeds (2.5% of them overflowed a 60% full table): folding the high
 * half into the low one and one more multiply spread them before the high half picks the home. */
static __always_inline __u32 table_home(const struct flow_key *key)
{
	const __u64 *w = (const __u64 *)key;
	__u64 h = ((w[0] ^ hash_seed[0]) * (w[1] ^ hash_seed[1])) ^
		  ((w[2] ^ hash_seed[2]) * (w[3] ^ hash_seed[0])) ^
		  ((w[4] ^ hash_seed[1]) * (w[5] ^ hash_seed[2]));

	h = (h ^ (h >> 32)) * 0x9e3779b97f4a7c15ULL;

	/* (h >> 32) * slot_count / 2^32 maps the hash onto 0..slot_count-1 without a division. */
	return 1 + (__u32)(((h >> 32) * slot_count) >> 32);
}

static __always_inline int same_key(const struct flow_key *a, const struct flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) |
		 (x[5] ^ y[5]));
}

/* The slot of a flow that has one in the half starting at base, else NULL. */
static __always_inline struct flow_slot *table_find(__u32 base, const struct flow_key *key)
{
	__u32 home = base + table_home(key);

	for (__u32 i = 0; i < FLOW_PROBES; i++) {
		__u32 idx = home + i;
		struct flow_slot *s = bpf_map_lookup_elem(&flow_table, &idx);

		if (!s || s->state == FLOW_SLOT_EMPTY)
			return NULL;
		if (s->state == FLOW_SLOT_READY && same_key(&s->key, key))
			return s;
	}
	return NULL;
}

static __always_inline void table_add(struct flow_slot *s, const struct flow_counts *c)
{
	__u64 now = bpf_jiffies64(); /* inlined by the verifier: one load */

	if (s->owner == bpf_get_smp_processor_id()) {
		/* Only this CPU writes `own`, and programs do not nest on a CPU: plain adds are exact. */
		s->own.packets += c->packets;
		s->own.bytes += c->bytes;
		s->own.payload_bytes += c->payload_bytes;
		s->own.tcp_flags |= c->tcp_flags;
	} else {
		__sync_fetch_and_add(&s->others.packets, c->packets);
		__sync_fetch_and_add(&s->others.bytes, c->bytes);
		__sync_fetch_and_add(&s->others.payload_bytes, c->payload_bytes);
		if ((s->others.tcp_flags & c->tcp_flags) != c->tcp_flags)
			__sync_fetch_and_or(&s->others.tcp_flags, c->tcp_flags);
	}
	/* last_ns at tick resolution, read once per tick rather than per packet; CPUs racing here
	 * all store the time of the same tick. */
	if (s->last_jiffies != now) {
		s->last_jiffies = now;
		s->last_ns = bpf_ktime_get_coarse_ns();
	}
}

enum table_insert_result {
	TABLE_INSERTED,
	TABLE_FULL,
	TABLE_BUSY, /* another CPU is creating a slot in this key's range */
};

/* Creates the key's slot with this packet's counts, or counts into it if another CPU created it
 * meanwhile. */
static __always_inline int table_insert(__u32 base, const struct flow_key *key,
					const struct flow_counts *c, __u64 now)
{
	struct flow_slot *hdr = bpf_map_lookup_elem(&flow_table, &base);
	__u32 home = base + table_home(key);
	int r = TABLE_FULL;

	if (!hdr)
		return TABLE_FULL;
	/* Reserve room for one flow. Being a full barrier, this atomic also makes the walk below see
	 * every slot other CPUs published before it, on CPUs that reorder loads too. */
	if (__sync_fetch_and_add(&hdr->own.packets, 1) >= capacity)
		goto unreserve;
	for (__u32 i = 0; i < FLOW_PROBES; i++) {
		__u32 idx = home + i;
		struct flow_slot *s = bpf_map_lookup_elem(&flow_table, &idx);

		if (!s)
			break;
		if (s->state == FLOW_SLOT_READY) {
			if (!same_key(&s->key, key))
				continue;
			table_add(s, c); /* another CPU created it since table_find */
			r = TABLE_INSERTED;
			goto unreserve;
		}
		if (s->state == FLOW_SLOT_BUSY ||
		    __sync_val_compare_and_swap(&s->state, FLOW_SLOT_EMPTY, FLOW_SLOT_BUSY) != FLOW_SLOT_EMPTY) {
			r = TABLE_BUSY;
			goto unreserve;
		}
		__builtin_memcpy(&s->key, key, sizeof(*key));
		s->owner = bpf_get_smp_processor_id();
		s->own.packets = c->packets;
		s->own.bytes = c->bytes;
		s->own.payload_bytes = c->payload_bytes;
		s->own.tcp_flags = c->tcp_flags;
		s->first_ns = now;
		s->last_ns = now;
		s->last_jiffies = bpf_jiffies64();
		__sync_fetch_and_add(&s->state, FLOW_SLOT_READY - FLOW_SLOT_BUSY);
		return TABLE_INSERTED;
	}
unreserve:
	__sync_fetch_and_add(&hdr->own.packets, -1);
	return r;
}

#endif
