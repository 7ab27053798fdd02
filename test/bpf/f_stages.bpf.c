// SPDX-License-Identifier: GPL-2.0
/* The flow program cut short, for the flows bench's breakdown: the same parsing and table code as
 * bpf/flows.bpf.c (shared headers), stopping after each step. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "flows.h"
#include "flows-parse.h"
#include "flows-table.h"

/* Keeps the compiler from dropping work whose result nothing reads. */
#define KEEP(ptr) asm volatile("" : : "r"(ptr) : "memory")

/* Parsing and the whole key, as flows.bpf.c builds it before any map access. */
SEC("tc")
int f_parse(struct __sk_buff *skb)
{
	struct flow_key key = {};
	struct parsed p = {};
	struct l4_info l4 = {};

	if (parse_packet(skb, &p, &key, &l4) == PARSE_OK)
		key_location(skb, &key, p.proto, FLOW_DIR_EGRESS);
	KEEP(&key);
	KEEP(&l4);
	return TC_ACT_UNSPEC;
}

/* Parsing and finding the flow's slot, without counting (the first run creates the slot). */
SEC("tc")
int f_lookup(struct __sk_buff *skb)
{
	struct flow_key key = {};
	struct parsed p = {};
	struct l4_info l4 = {};

	if (parse_packet(skb, &p, &key, &l4) != PARSE_OK)
		return TC_ACT_UNSPEC;
	key_location(skb, &key, p.proto, FLOW_DIR_EGRESS);

	__u32 base = active_base();
	struct flow_slot *s = table_find(base, &key);

	if (!s) {
		struct flow_counts c = { .packets = 1 };

		table_insert(base, &key, &c, 0);
	}
	KEEP(s);
	KEEP(&l4);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "GPL";
