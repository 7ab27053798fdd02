// SPDX-License-Identifier: GPL-2.0
/* Links: one entry per TCP socket view, built from tracepoints only (no kprobes on our kernels),
 * attached as BTF-enabled raw tracepoints (tp_btf):
 *
 *   sock:inet_sock_set_state  lifecycle and role; CLOSE folds a client's final counts into its
 *                             link (link_folds), other views send a record to link_events
 *   sock:sock_send_length     payload written by the application (Linux >= 6.3)
 *   sock:sock_recv_length     payload read by the application (Linux >= 6.3)
 *   tcp:tcp_retransmit_skb    retransmitted segments (attempts that sent one)
 *
 * Entries are keyed by the socket pointer and deleted at CLOSE, so a socket reused for a new
 * connection starts from zero; start_ns tells userspace two lives of one pointer apart. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "links.h"

#define AF_INET 2
#define AF_INET6 10
#define MSG_PEEK 0x2
#define MSG_ERRQUEUE 0x2000

/* TCP states (include/net/tcp_states.h) */
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_FIN_WAIT1 4
#define TCP_FIN_WAIT2 5
#define TCP_CLOSE 7
#define TCP_CLOSE_WAIT 8
#define TCP_LAST_ACK 9
#define TCP_LISTEN 10
#define TCP_CLOSING 11

char LICENSE[] SEC("license") = "GPL";

/* Inode of the only network namespace to trace; 0 traces all (set by the loader before load). */
const volatile __u32 only_netns = 0;
/* max_entries - 1 of link_tuple_slots and link_servers (a power of two, set by the loader). */
const volatile __u32 slot_mask = 4095;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct link_conn);
} link_conns SEC(".maps");

/* The same entries, direct-mapped: slot i (chosen by a hash of the socket's pointer, the index of its
 * link_servers slot too) holds the entry of the socket that claimed it (compare-and-swap of sk
 * from 0). A short connection's entry then costs no hash insert, lookups and delete; the kernel
 * reuses freed sockets, so the same few slots stay warm. A socket whose slot is taken gets an entry
 * in link_conns as before. start_ns is written last (a release store: ordered after the other
 * fields) and cleared first: user space and the programs take a slot with start_ns 0 as empty. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct link_conn);
} link_conn_slots SEC(".maps");

/* Client connections by 4-tuple, so the server side of a connection between two local sockets
 * can tell that the client already counts it. An entry is needed only until the server's
 * handshake ends, which is before the client can receive anything: it goes when the server finds
 * it, at the client's first receive, or at its close. So the map stays small (4096 by default, not
 * one entry per socket): its buckets are hit at random, one tuple per connection, and in a map of
 * 65536 that miss (cache and TLB) was ~90 ns of the ~1 µs the programs take per connection. */
struct link_tuple {
	__u8 client[16];
	__u8 server[16];
	__u16 cport;
	__u16 sport;
	__u32 netns; /* only for loopback addresses, which every namespace has */
} __attribute__((aligned(8))); /* compared and hashed as five u64 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct link_tuple);
	__type(value, __u64);
} link_tuples SEC(".maps");

/* The same, direct-mapped: slot i (chosen by a hash of the tuple) holds the socket pointer of the
 * client that claimed it (compare-and-swap from 0), whose own entry has the tuple. Claiming a slot
 * and releasing it cost no hash insert, lookup and delete; a client that finds its slot taken uses
 * link_tuples, and a server looks there whenever its slot does not name its client. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} link_tuple_slots SEC(".maps");

/* The server view of a local pair needs no entry: its client's entry counts the connection. Its
 * slot here (chosen by a hash of the server socket's pointer) is claimed at its handshake, holds
 * its process from its first send or receive, and is freed at its close; an entry is only made
 * when the slot is taken. A miss in link_conns looks here before taking the socket for one opened
 * before the start. User space reads the slots for an open pair's server process. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct link_server);
} link_servers SEC(".maps");

/* Closed client connections added up per link, so a close costs no record to copy, decode and fold
 * in user space. Exact draining as in flows.bpf.c: programs add to the map slot 0 of link_folds
 * points at; user space points it at the other map, and the kernel returns from that update only
 * after synchronize_rcu(), when no program still holds the old map, which it then empties alone.
 * The slot stays empty (closes go to the ring buffer) until user space has read the socket table:
 * a close record names its socket, so a connection in that table that closed meanwhile is known.
 * Per-CPU: a close adds to its CPU's copy with plain adds, no atomic operations (link_state never
 * runs nested on one CPU: the kernel skips a program that is already running there); user space
 * adds the copies up. */
struct fold_hash {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64); /* fold_hash() of the link_fold_key in the value */
	__type(value, struct link_fold);
} link_folds_a SEC(".maps"), link_folds_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct fold_hash);
} link_folds SEC(".maps");

/* Close records: server and unknown-role views, and client connections link_folds had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} link_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LINK_CTR_MAX);
	__type(key, __u32);
	__type(value, __u64);
} link_counters SEC(".maps");

/* Per-CPU scratch space is indexed by the program using it: a program never runs nested into
 * itself on one CPU (the kernel skips it), but another one can, in a softirq that interrupts a
 * program in process context between its write and its read. */
enum { RUN_STATE, RUN_SEND, RUN_RECV, RUN_RETRANSMIT, RUNS };

/* Scratch space: struct link_conn is too big for the 512-byte stack next to the other locals. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNS);
	__type(key, __u32);
	__type(value, struct link_conn);
} link_scratch SEC(".maps");

/* A store that publishes the stores before it (release): x86 makes stores visible in program order,
 * so there a compiler barrier and a plain store do it (as the kernel's smp_store_release()), without
 * a locked instruction; elsewhere an atomic exchange (a full barrier). A locked instruction on a
 * line last written by another CPU waits for it: a server slot freed on the other CPU than the one
 * that filled it took ~300 ns with a compare-and-swap, ~160 with this. */
#ifdef __TARGET_ARCH_x86
#define store_release(p, v) ({ asm volatile("" ::: "memory"); *(volatile __u64 *)(p) = (v); })
#else
#define store_release(p, v) __sync_lock_test_and_set(p, v)
#endif

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&link_counters, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline int is_synchronized(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 ||
	       state == TCP_CLOSE_WAIT || state == TCP_LAST_ACK || state == TCP_CLOSING;
}

/* States entered only after our FIN was queued: it took a sequence number (write_seq counts it). */
static __always_inline int fin_sent(int state)
{
	return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING ||
	       state == TCP_LAST_ACK;
}

/* The peer's FIN arrived: tcp_fin() sets SOCK_DONE before it changes the state. */
static __always_inline int peer_fin(struct sock *sk)
{
	return (sk->__sk_common.skc_flags >> SOCK_DONE) & 1;
}

/* Addresses and ports from the socket itself: the tracepoints that carry bytes have none. At
 * SYN_SENT the source port is not chosen yet: read again at ESTABLISHED or a failed CLOSE. */
/* The socket's local and remote addresses (IPv4 in the first word). */
static __always_inline void sock_ips(struct sock *sk, __u16 family, __u32 *local, __u32 *remote)
{
	int i;

	if (family == AF_INET6) {
		for (i = 0; i < 4; i++) {
			local[i] = sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			remote[i] = sk->__sk_common.skc_v6_daddr.in6_u.u6_addr32[i];
		}
	} else {
		local[0] = sk->__sk_common.skc_rcv_saddr;
		remote[0] = sk->__sk_common.skc_daddr;
	}
}

/* The local port at any state. skc_num (in struct sock, no TCP pointer needed) serves until CLOSE,
 * where the port is released (skc_num = 0) before the tracepoint. */
static __always_inline __u16 local_port(struct tcp_sock *tp)
{
	return __builtin_bswap16(tp->inet_conn.icsk_inet.inet_sport);
}

static __always_inline void read_addrs(struct link_conn *c, struct sock *sk, __u16 sport)
{
	c->family = sk->__sk_common.skc_family;
	c->sport = sport;
	c->dport = __builtin_bswap16(sk->__sk_common.skc_dport);
	sock_ips(sk, c->family, (__u32 *)c->saddr, (__u32 *)c->daddr);
}

/* pid and comm only mean something in process context (connect, send, recv), never in softirq.
 * Read from the task with plain loads: bpf_get_current_comm() copies byte by byte (~15 ns). */
static __always_inline void task_of(__u32 *pid, char *comm)
{
	struct task_struct *task = bpf_get_current_task_btf();
	const __u64 *from = (const __u64 *)task->comm;

	*pid = task->tgid;
	/* Two 8-byte moves (comm is 8-aligned in both): a char array is copied byte by byte. */
	((__u64 *)comm)[0] = from[0];
	((__u64 *)comm)[1] = from[1];
}

static __always_inline void take_task(struct link_conn *c)
{
	task_of(&c->pid, c->comm);
	c->flags |= LINK_F_HAS_PID;
}

/* Slot of a hash: multiplied again, so that tuples (ports in a row) spread over the array. */
static __always_inline __u32 slot_index(__u64 h)
{
	return (__u32)((h * 0x9E3779B97F4A7C15ULL) >> 32) & slot_mask;
}

/* The socket pointer as a number to hash: the verifier allows no arithmetic on a pointer, but a
 * copy read back from a map value is a plain number. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RUNS);
	__type(key, __u32);
	__type(value, __u64);
} link_sk_number SEC(".maps");

/* A socket's slot in link_conn_slots and link_servers: chosen by its pointer, so that the kernel's
 * reuse of freed sockets reuses the same few slots, whose cache lines stay warm (a hash of the
 * 4-tuple would take a different line of the array for every connection). */
static __always_inline __u32 sk_slot_index(__u64 key, __u32 run)
{
	__u64 *n = bpf_map_lookup_elem(&link_sk_number, &run);

	if (!n)
		return 0;
	*n = key;
	return slot_index(*(volatile __u64 *)n);
}

/* The entry of socket `key` in its slot (idx: sk_slot_index(key)), or NULL. */
static __always_inline struct link_conn *conn_in_slot(__u64 key, __u32 idx)
{
	struct link_conn *c = bpf_map_lookup_elem(&link_conn_slots, &idx);

	return c && c->sk == key ? c : NULL;
}

/* The entry of another socket, known by its pointer as a number (peer_sk, a tuple slot's owner). */
static __always_inline struct link_conn *find_conn(__u64 key)
{
	struct link_conn *c = conn_in_slot(key, slot_index(key));

	return c ? c : bpf_map_lookup_elem(&link_conns, &key);
}

/* The end of a socket's entry, wherever it is. In a slot: start_ns first (the slot reads as empty
 * from here on), then the owner word, which frees it for another socket. Only its owner moves the
 * owner word away from its own pointer (others compare-and-swap it from 0), so a release store does. */
static __always_inline void drop_conn(__u64 key, __u32 idx)
{
	struct link_conn *c = conn_in_slot(key, idx);

	if (c) {
		c->start_ns = 0;
		store_release(&c->sk, 0);
		return;
	}
	bpf_map_delete_elem(&link_conns, &key);
}

/* A new entry for a socket: its slot of link_conn_slots claimed here when free, else the per-CPU
 * scratch copy. The caller completes it and insert()s it: a slot by writing its start_ns last, the
 * scratch copy into link_conns whole, without a second lookup. NULL when filtered out, or when the
 * slot already holds this socket (another CPU took it up first). */
static __always_inline struct link_conn *new_conn(struct sock *sk, __u16 sport, __u8 role, __u32 idx, __u32 run)
{
	__u32 netns = sk->__sk_common.skc_net.net->ns.inum;
	__u64 key = (__u64)sk, owner;
	struct link_conn *c;

	if (only_netns && netns != only_netns)
		return NULL;
	c = bpf_map_lookup_elem(&link_conn_slots, &idx);
	if (c) {
		owner = __sync_val_compare_and_swap(&c->sk, 0, key);
		if (owner == key)
			return NULL;
		if (owner)
			c = NULL;
	}
	if (!c) {
		c = bpf_map_lookup_elem(&link_scratch, &run);
		if (!c)
			return NULL;
		c->sk = key;
	}
	/* Everything but the owner word, which another CPU may be comparing. */
	__builtin_memset(&c->start_ns, 0, sizeof(*c) - sizeof(c->sk));
	c->netns = netns;
	c->last_ns = bpf_ktime_get_ns();
	c->role = role;
	c->cgroup_id = sk->sk_cgrp_data.cgroup->kn->id;
	read_addrs(c, sk, sport);
	return c;
}

/* Returns 0 once the socket has an entry (this one, or one another CPU inserted first); a full map
 * is counted. The start time is last_ns, set by new_conn(). */
static __always_inline int insert(struct link_conn *c, __u32 idx)
{
	__u64 start = c->last_ns;

	if (conn_in_slot(c->sk, idx) == c) {
		/* Ordered after the fields above: a reader that sees the start time sees them too. */
		store_release(&c->start_ns, start);
		return 0;
	}
	c->start_ns = start;
	if (!bpf_map_update_elem(&link_conns, &c->sk, c, BPF_NOEXIST))
		return 0;
	if (bpf_map_lookup_elem(&link_conns, &c->sk))
		return 0;
	count(LINK_CTR_CONN_FULL);
	return -1;
}

/* Sequence numbers at the baseline: later payload is end - base (minus a FIN, see the decoder). */
static __always_inline void set_base(struct link_conn *c, struct tcp_sock *tp, __u32 rcv_seq)
{
	c->base_snd = tp->write_seq;
	c->base_rcv = rcv_seq;
	c->flags |= LINK_F_HAS_BASE;
}

/* ::ffff:a.b.c.d as a.b.c.d: a dual-stack server's socket must match its IPv4 client's tuple. */
static __always_inline void tuple_addr(__u8 *dst, const __u8 *src, __u16 family)
{
	if (family == AF_INET6 && !(src[0] | src[1] | src[2] | src[3] | src[4] | src[5] | src[6] | src[7] |
				    src[8] | src[9]) && src[10] == 0xff && src[11] == 0xff) {
		__builtin_memcpy(dst, src + 12, 4);
		return;
	}
	if (family == AF_INET6)
		__builtin_memcpy(dst, src, 16);
	else
		__builtin_memcpy(dst, src, 4);
}

static __always_inline void tuple_of(struct link_tuple *t, __u16 family, const __u8 *client, const __u8 *server,
				     __u16 cport, __u16 sport, __u32 netns)
{
	__builtin_memset(t, 0, sizeof(*t));
	tuple_addr(t->client, client, family);
	tuple_addr(t->server, server, family);
	t->cport = cport;
	t->sport = sport;
	/* 127/8 and ::1 exist in every namespace: there only the same namespace is the same peer. */
	if (t->client[0] == 127 ||
	    (family == AF_INET6 && client[15] == 1 && !(client[0] | client[1] | client[2] | client[3] | client[4] |
	      client[5] | client[6] | client[7] | client[8] | client[9] | client[10] | client[11] | client[12] |
	      client[13] | client[14])))
		t->netns = netns;
}

/* A client view's tuple. */
static __always_inline void make_tuple(struct link_tuple *t, struct link_conn *c)
{
	tuple_of(t, c->family, c->saddr, c->daddr, c->sport, c->dport, c->netns);
}

/* A server socket's tuple, read from the socket itself: it has no entry (yet). */
static __always_inline void server_tuple(struct link_tuple *t, struct sock *sk, __u32 netns)
{
	__u32 local[4] = {}, remote[4] = {};
	__u16 family = sk->__sk_common.skc_family;

	sock_ips(sk, family, local, remote);
	tuple_of(t, family, (__u8 *)remote, (__u8 *)local, __builtin_bswap16(sk->__sk_common.skc_dport),
		 sk->__sk_common.skc_num, netns);
}

/* A tuple's slot: one of TUPLE_GROUP adjacent slots (by the client's port) of a group chosen by the
 * rest of the tuple. The connections between two endpoints (client ports in a row) so reuse a few
 * cache lines of the array, where a slot chosen by the whole tuple was a random line for every
 * connection, mostly a cache miss (~12 ns of the client's ESTABLISHED on one CPU). Up to
 * TUPLE_GROUP handshakes between two endpoints at once find a slot; more use link_tuples. */
#define TUPLE_GROUP 64

static __always_inline __u32 tuple_slot_index(const struct link_tuple *t)
{
	const __u64 *w = (const __u64 *)t;
	__u32 group = slot_index(((w[0] ^ w[1]) * 0x9E3779B97F4A7C15ULL) ^ w[2] ^ w[3] ^ (w[4] & ~0xFFFFULL));

	return ((group & ~(TUPLE_GROUP - 1)) | (t->cport & (TUPLE_GROUP - 1))) & slot_mask;
}

static __always_inline int same_tuple(const struct link_tuple *a, const struct link_tuple *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]));
}

/* A client at its ESTABLISHED: its tuple in a slot, or in link_tuples when that slot is taken.
 * c->slot is set before the claim: a server that sees the claim must see it too. */
static __always_inline void publish_tuple(struct link_conn *c, __u64 key)
{
	struct link_tuple t;
	__u32 idx;
	__u64 *slot;

	make_tuple(&t, c);
	idx = tuple_slot_index(&t);
	slot = bpf_map_lookup_elem(&link_tuple_slots, &idx);
	if (slot) {
		c->slot = idx + 1;
		if (!__sync_val_compare_and_swap(slot, 0, key))
			return;
		c->slot = 0;
	}
	if (bpf_map_update_elem(&link_tuples, &t, &key, BPF_ANY))
		count(LINK_CTR_TUPLE_FULL);
	else
		c->flags |= LINK_F_TUPLE;
}

/* The client's first receive or close: its tuple is no longer needed (its server, if local, has
 * found it). The slot is freed only if this client still holds it. */
static __always_inline void withdraw_tuple(struct link_conn *c, __u64 key)
{
	struct link_tuple t;
	__u32 idx;
	__u64 *slot;

	if (c->slot && !(c->flags & LINK_F_SERVER_SLOT)) {
		idx = c->slot - 1;
		c->slot = 0;
		slot = bpf_map_lookup_elem(&link_tuple_slots, &idx);
		if (slot)
			__sync_val_compare_and_swap(slot, key, 0);
	}
	if (c->flags & LINK_F_TUPLE) {
		c->flags &= ~LINK_F_TUPLE;
		make_tuple(&t, c);
		bpf_map_delete_elem(&link_tuples, &t);
	}
}

/* At a server's handshake: the entry of its client when that is on this host (its tuple is the
 * server's, seen from the other end), else NULL. The tuple is withdrawn: the pair is linked from
 * here on. The slot is only a shortcut: the client's own entry must have the same tuple. */
static __always_inline struct link_conn *local_client(struct link_tuple *t)
{
	struct link_tuple ct;
	struct link_conn *p;
	__u64 owner, *slot, *peer_sk;
	__u32 idx = tuple_slot_index(t);

	slot = bpf_map_lookup_elem(&link_tuple_slots, &idx);
	owner = slot ? *slot : 0;
	if (owner) {
		p = find_conn(owner);
		if (p && p->slot == idx + 1) {
			make_tuple(&ct, p);
			if (same_tuple(&ct, t)) {
				p->slot = 0;
				__sync_val_compare_and_swap(slot, owner, 0);
				return p;
			}
		}
	}
	peer_sk = bpf_map_lookup_elem(&link_tuples, t);
	if (!peer_sk)
		return NULL;
	p = find_conn(*peer_sk);
	bpf_map_delete_elem(&link_tuples, t);
	if (p)
		p->flags &= ~LINK_F_TUPLE;
	return p;
}

/* The server of local client p takes its slot instead of an entry; 0 when another server socket
 * holds that slot (this one then gets an entry, as when no slots existed). */
static __always_inline int take_server_slot(struct link_conn *p, __u64 key, __u32 idx, __u32 netns)
{
	struct link_server *s = bpf_map_lookup_elem(&link_servers, &idx);

	if (!s || __sync_val_compare_and_swap(&s->sk, 0, key))
		return 0;
	/* A free slot is all zeros (free_server_slot()): readers see its fields empty or these. */
	s->peer_start_ns = p->start_ns;
	s->peer_sk = p->sk;
	p->peer_netns = netns;
	p->peer_sk = key;
	p->peer_start_ns = 0;
	p->slot = idx + 1;
	p->flags |= LINK_F_SERVER_SLOT;
	return 1;
}

/* A slot server closing: its process goes into its client's entry if that is still open (if not,
 * the client took it from the slot at its own close); the slot is emptied, then freed (a release
 * store: only the slot's owner frees it). */
static __always_inline void free_server_slot(struct link_server *s, __u64 key)
{
	struct link_conn *p;

	if (s->peer_sk && (s->flags & LINK_F_HAS_PID)) {
		p = find_conn(s->peer_sk);
		if (p && p->start_ns == s->peer_start_ns) {
			p->peer_pid = s->pid;
			__builtin_memcpy(p->peer_comm, s->comm, sizeof(p->peer_comm));
		}
	}
	s->flags = 0;
	s->pid = 0;
	s->peer_sk = 0;
	s->peer_start_ns = 0;
	store_release(&s->sk, 0);
}

/* The slot of a server socket without an entry, or NULL. */
static __always_inline struct link_server *own_server_slot(__u64 key, __u32 idx)
{
	struct link_server *s = bpf_map_lookup_elem(&link_servers, &idx);

	return s && s->sk == key ? s : NULL;
}

/* A socket found mid-life (open before we started, or missed when the map was full). The bytes
 * of the call that found it are already in its sequence numbers: the baseline goes before them. */
static __always_inline struct link_conn *track_late(struct sock *sk, struct tcp_sock *tp, __u32 sent,
						       __u32 received, __u32 idx, __u32 run)
{
	__u64 key = (__u64)sk;
	struct link_conn *c = new_conn(sk, local_port(tp), LINK_ROLE_UNKNOWN, idx, run);

	if (!c)
		/* Filtered out, or another CPU took it up into the slot first. */
		return conn_in_slot(key, idx);
	c->flags |= LINK_F_ESTABLISHED;
	set_base(c, tp, tp->copied_seq - received);
	c->base_snd -= sent;
	/* A read that returned 0 (or the last data) consumed the peer's FIN: copied_seq, and so the
	 * baseline, counts it already. */
	if (peer_fin(sk) && tp->copied_seq == tp->rcv_nxt)
		c->flags |= LINK_F_FIN_READ;
	if (conn_in_slot(key, idx) == c && bpf_map_lookup_elem(&link_conns, &key)) {
		/* Another CPU took it up into link_conns while this slot was another socket's. */
		drop_conn(key, idx);
		return bpf_map_lookup_elem(&link_conns, &key);
	}
	if (insert(c, idx))
		return NULL;
	c = conn_in_slot(key, idx);
	return c ? c : bpf_map_lookup_elem(&link_conns, &key);
}

/* A wakeup per record would cost a context switch per connection: wake the consumer only once an
 * eighth of the ring is waiting. User space drains the rest at every poll (ring buffer consume()). */
static __always_inline __u64 wakeup_flag(void)
{
	__u64 avail = bpf_ringbuf_query(&link_events, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&link_events, BPF_RB_RING_SIZE);

	return avail >= size / 8 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* The client entry a peer-local server view reports to, if that connection is still open. */
static __always_inline struct link_conn *peer_of(struct link_conn *c)
{
	struct link_conn *p;

	if (!(c->flags & LINK_F_PEER_LOCAL))
		return NULL;
	p = find_conn(c->peer_sk);
	/* The same pointer may be a newer socket by now: the start time says. */
	if (!p || p->start_ns != c->peer_start_ns)
		return NULL;
	return p;
}

static __always_inline void emit_close(struct link_conn *c, struct sock *sk, struct tcp_sock *tp, int oldstate,
				       __u64 now)
{
	struct link_close *e;

	c->srtt_us = tp->srtt_us >> 3;
	e = bpf_ringbuf_reserve(&link_events, sizeof(*e), 0);
	if (!e) {
		count(LINK_CTR_RING_LOST);
		return;
	}
	__builtin_memcpy(&e->conn, c, sizeof(*c));
	e->end_ns = now;
	e->end_snd = tp->write_seq;
	e->end_rcv = tp->rcv_nxt;
	e->sk_err = sk->sk_err;
	e->oldstate = oldstate;
	e->sock_done = (sk->__sk_common.skc_flags >> SOCK_DONE) & 1;
	e->pad[0] = 0;
	e->pad[1] = 0;
	bpf_ringbuf_submit(e, wakeup_flag());
}

/* The kernel's figure for one direction wins where it differs from the traced one: sequence numbers
 * are 32 bits, so the difference is taken the short way round (links-accounting.ts does the same
 * for close records). Returns 1 when corrected. */
static __always_inline __u64 reconcile(__u64 *traced, __u32 kernel32)
{
	__s32 diff = (__s32)(kernel32 - (__u32)*traced);
	__s64 v;

	if (!diff)
		return 0;
	v = (__s64)*traced + diff;
	*traced = v < 0 ? 0 : v;
	return 1;
}

/* The key of a link's entry in link_folds: a 64-bit hash of its link_fold_key (each step of the mix
 * is invertible, so keys that differ in one word never collide). */
static __always_inline __u64 fold_hash(const struct link_fold_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = w[0];
	int i;

	for (i = 1; i < sizeof(*k) / 8; i++)
		h = (h ^ (h >> 29) ^ w[i]) * 0x9E3779B97F4A7C15ULL;
	return h;
}

static __always_inline int same_fold_key(const struct link_fold_key *a, const struct link_fold_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4]) | (x[5] ^ y[5]));
}

/* A closing client connection: its final counts added into its link's entry of link_folds.
 * Returns -1 (nothing done) when the map has no room for a new link (or, vanishingly rarely,
 * another link with the same hash holds this CPU's copy), -2 before user space started
 * folding: the caller sends a close record instead. The caller drops the socket's entry after
 * this: a poll drains a fold map only once no program that held it is still running (the swap
 * waits for them), so it cannot read the connection as open as well. */
static __always_inline int fold_close(struct link_conn *c, struct tcp_sock *tp, int oldstate, __u64 now)
{
	struct link_fold_key k = {};
	struct link_fold *f;
	__u64 sent = c->bytes_sent, recv = c->bytes_recv, corrections = 0, hk;
	__u32 zero = 0, srtt;
	void *folds;

	folds = bpf_map_lookup_elem(&link_folds, &zero);
	if (!folds)
		return -2;
	__builtin_memcpy(k.client, c->saddr, sizeof(k.client));
	__builtin_memcpy(k.server, c->daddr, sizeof(k.server));
	k.netns = c->netns;
	k.pid = c->pid;
	k.family = c->family;
	k.port = c->dport;

	hk = fold_hash(&k);
	f = bpf_map_lookup_elem(folds, &hk);
	if (!f) {
		/* A new link since the last drain: its entry starts with no counts (on every CPU),
		 * added below like any other (another CPU may insert the same key first). */
		struct link_fold fresh = {};

		bpf_map_update_elem(folds, &hk, &fresh, BPF_NOEXIST);
		f = bpf_map_lookup_elem(folds, &hk);
		if (!f)
			return -1;
	}
	/* This CPU's copy: one no close has touched yet is all zeros. */
	if (!f->first_ns)
		f->key = k;
	else if (!same_fold_key(&f->key, &k))
		return -1;
	if (c->flags & LINK_F_ESTABLISHED) {
		if (c->flags & LINK_F_HAS_BASE)
			/* Our FIN took a sequence number in these states; the peer's if it came after
			 * the baseline. */
			corrections = reconcile(&sent, tp->write_seq - c->base_snd - fin_sent(oldstate)) +
				      reconcile(&recv, tp->rcv_nxt - c->base_rcv - ((c->flags & LINK_F_FIN_IN) != 0));
		f->closed += 1;
		f->bytes_sent += sent;
		f->bytes_recv += recv;
		f->corrections += corrections;
	} else {
		f->failed += 1;
	}
	f->retransmits += c->retransmits + c->peer_retransmits;
	if (!f->first_ns || c->start_ns < f->first_ns)
		f->first_ns = c->start_ns;
	f->last_ns = now;
	f->cgroup_id = c->cgroup_id;
	srtt = tp->srtt_us >> 3;
	if (srtt)
		f->srtt_us = srtt;
	if (c->peer_pid) {
		f->peer_pid = c->peer_pid;
		__builtin_memcpy(f->peer_comm, c->peer_comm, sizeof(f->peer_comm));
	}
	if (c->peer_netns)
		f->peer_netns = c->peer_netns;
	__builtin_memcpy(f->comm, c->comm, sizeof(f->comm));
	return 0;
}

/* A TCP socket on IPv4/IPv6 (SCTP and others also pass inet_sock_set_state; AF_UNIX and UDP pass
 * the payload tracepoints), told by plain loads: the bpf_skc_to_tcp_sock() call that gives a
 * pointer to its TCP fields is made only on the paths that read them. */
static __always_inline int inet_tcp(struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	return (family == AF_INET || family == AF_INET6) && sk->sk_protocol == IPPROTO_TCP &&
	       sk->sk_type == SOCK_STREAM;
}

/* A client closing: its server's process, from the server view's own entry while that is open
 * (a server view that closes first writes it into this entry instead). Taken here, at close,
 * rather than written by the server's first send or receive: that write is a cache miss whenever
 * client and server run on different CPUs, on every connection. */
static __always_inline void take_server_process(struct link_conn *c)
{
	struct link_conn *s;

	/* Already written by a server view that closed first (and so has no entry left). */
	if (!c->peer_sk || c->peer_pid)
		return;
	if (c->flags & LINK_F_SERVER_SLOT) {
		__u32 idx = c->slot - 1;
		struct link_server *ss = bpf_map_lookup_elem(&link_servers, &idx);

		if (ss && ss->sk == c->peer_sk && ss->peer_sk == c->sk && ss->peer_start_ns == c->start_ns) {
			if (ss->flags & LINK_F_HAS_PID) {
				c->peer_pid = ss->pid;
				__builtin_memcpy(c->peer_comm, ss->comm, sizeof(c->peer_comm));
			}
			/* Gone: the server's close has no entry to hand its process to. */
			ss->peer_sk = 0;
		}
		return;
	}
	s = find_conn(c->peer_sk);
	if (!s || s->start_ns != c->peer_start_ns || !(s->flags & LINK_F_HAS_PID))
		return;
	c->peer_pid = s->pid;
	__builtin_memcpy(c->peer_comm, s->comm, sizeof(c->peer_comm));
}

/* BTF-enabled raw tracepoints: the kernel hands over its arguments as they are (no trace record
 * filled first), and the program reads the socket with plain loads instead of a
 * bpf_probe_read_kernel() call per field. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(link_state, struct sock *sk, int oldstate, int newstate)
{
	struct tcp_sock *tp;
	__u64 key = (__u64)sk, now;
	struct link_conn *c, *p;
	struct link_server *s;
	struct link_tuple t;
	__u32 idx;

	/* Listening sockets, and accepted children being created (LISTEN -> SYN_RECV), are no
	 * connections yet: nothing to read for them. */
	if (oldstate == TCP_LISTEN || newstate == TCP_LISTEN)
		return 0;
	/* Steps of an orderly close that change nothing we count (our FIN is counted from the state
	 * CLOSE is entered from, the peer's from SOCK_DONE at CLOSE): 4 of the ~10 state changes of
	 * a connection return before the map, whose lookup is a cache miss whenever the socket's last
	 * event ran on another CPU. A socket not tracked yet is picked up at its next event. */
	if (newstate == TCP_FIN_WAIT1 || newstate == TCP_FIN_WAIT2 || newstate == TCP_LAST_ACK ||
	    newstate == TCP_CLOSE_WAIT || newstate == TCP_CLOSING)
		return 0;
	if (!inet_tcp(sk))
		return 0;
	idx = sk_slot_index(key, RUN_STATE);

	/* Opens make a new entry without looking for one first: a socket's entry goes at its CLOSE,
	 * so there is none (insert() keeps an entry that is there anyway). */
	if (newstate == TCP_SYN_SENT) {
		/* connect() runs in the calling process: the client's pid and comm. */
		c = new_conn(sk, sk->__sk_common.skc_num, LINK_ROLE_CLIENT, idx, RUN_STATE);
		if (c) {
			take_task(c);
			insert(c, idx);
		}
		return 0;
	}
	if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED) {
		/* The accepted child, in softirq: pid and comm come at its first send/recv. */
		__u32 netns = sk->__sk_common.skc_net.net->ns.inum;

		if (only_netns && netns != only_netns)
			return 0;
		server_tuple(&t, sk, netns);
		p = local_client(&t);
		/* The handshake's last ACK is processed on the client's CPU: writing into the client's
		 * entry costs no cache miss. */
		if (p && take_server_slot(p, key, idx, netns))
			return 0;
		tp = bpf_skc_to_tcp_sock(sk);
		if (!tp)
			return 0;
		c = new_conn(sk, sk->__sk_common.skc_num, LINK_ROLE_SERVER, idx, RUN_STATE);
		if (!c)
			return 0;
		c->flags |= LINK_F_ESTABLISHED;
		set_base(c, tp, tp->rcv_nxt);
		if (p) {
			/* No slot: the two entries name each other. */
			c->flags |= LINK_F_PEER_LOCAL;
			c->peer_sk = p->sk;
			c->peer_start_ns = p->start_ns;
			p->peer_netns = c->netns;
			p->peer_sk = key;
			p->peer_start_ns = c->last_ns; /* the start time, until insert() */
		}
		insert(c, idx);
		return 0;
	}

	c = conn_in_slot(key, idx);
	if (!c) {
		/* A local server in its slot: only its close matters. */
		s = own_server_slot(key, idx);
		if (s) {
			if (newstate == TCP_CLOSE)
				free_server_slot(s, key);
			return 0;
		}
		c = bpf_map_lookup_elem(&link_conns, &key);
	}
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	if (!c) {
		if (!is_synchronized(oldstate))
			return 0;
		/* Past our FIN, write_seq counts it: the baseline goes before it, as at close. */
		c = track_late(sk, tp, fin_sent(oldstate), 0, idx, RUN_STATE);
		if (!c)
			return 0;
	}

	if (newstate == TCP_CLOSE && (c->flags & LINK_F_PEER_LOCAL)) {
		/* The client entry carries this connection: it gets this view's process if it is
		 * still open (if not, it took the process from here at its own close). No record, so
		 * no clock read either. */
		p = peer_of(c);
		if (p && (c->flags & LINK_F_HAS_PID)) {
			p->peer_pid = c->pid;
			__builtin_memcpy(p->peer_comm, c->comm, sizeof(p->peer_comm));
		}
		drop_conn(key, idx);
		return 0;
	}
	/* No clock read at ESTABLISHED: it comes a round trip after the open, whose time the entry
	 * has. */
	if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_SENT) {
		read_addrs(c, sk, sk->__sk_common.skc_num); /* the source port is chosen now */
		c->flags |= LINK_F_ESTABLISHED;
		set_base(c, tp, tp->rcv_nxt);
		publish_tuple(c, key);
		return 0;
	}
	/* No clock read: the socket's own stamp of its last segment (tcp_clock_cache, CLOCK_MONOTONIC
	 * like bpf_ktime_get_ns()) dates the event, the close's records and folds alike. */
	now = tp->tcp_clock_cache ?: bpf_ktime_get_ns();
	c->last_ns = now;
	if (newstate == TCP_CLOSE) {
		if (peer_fin(sk) && !(c->flags & LINK_F_FIN_READ))
			c->flags |= LINK_F_FIN_IN;
		if (!(c->flags & LINK_F_ESTABLISHED))
			/* A failed connect: its port was chosen after SYN_SENT. */
			read_addrs(c, sk, local_port(tp));
		withdraw_tuple(c, key);
		if (c->role == LINK_ROLE_CLIENT) {
			int folded;

			take_server_process(c);
			folded = fold_close(c, tp, oldstate, now);
			if (folded == -1)
				count(LINK_CTR_FOLD_FULL);
			if (folded)
				emit_close(c, sk, tp, oldstate, now);
		} else {
			emit_close(c, sk, tp, oldstate, now);
		}
		drop_conn(key, idx);
	}
	return 0;
}

/* Shared by send and recv: the filter runs before any map is touched, so AF_UNIX, UDP and the
 * rest cost one comparison. */
static __always_inline int on_payload(struct sock *sk, int ret, int flags, int send)
{
	struct tcp_sock *tp;
	__u64 key = (__u64)sk;
	struct link_server *s;
	struct link_conn *c;
	__u32 idx;

	/* Cheapest tests first; anything not TCP leaves before any map is touched. */
	if (ret <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return 0;
	if (!inet_tcp(sk))
		return 0;

	idx = sk_slot_index(key, send ? RUN_SEND : RUN_RECV);
	c = conn_in_slot(key, idx);
	if (!c) {
		/* A local server in its slot: its client counts the bytes; it gives its process. */
		s = own_server_slot(key, idx);
		if (s) {
			if (!(s->flags & LINK_F_HAS_PID)) {
				task_of(&s->pid, s->comm);
				s->flags = LINK_F_HAS_PID;
			}
			return 0;
		}
		c = bpf_map_lookup_elem(&link_conns, &key);
	}
	if (!c) {
		if (!is_synchronized(sk->__sk_common.skc_state))
			return 0;
		tp = bpf_skc_to_tcp_sock(sk);
		if (!tp)
			return 0;
		c = track_late(sk, tp, send ? ret : 0, send ? 0 : ret, idx, send ? RUN_SEND : RUN_RECV);
		if (!c)
			return 0;
	}
	/* A server's process stays in its own entry: its client entry takes it at close. */
	if (!(c->flags & LINK_F_HAS_PID))
		take_task(c);
	if (send) {
		__sync_fetch_and_add(&c->bytes_sent, ret);
		/* RTT at sends, not on every segment received. */
		tp = bpf_skc_to_tcp_sock(sk);
		if (tp)
			c->srtt_us = tp->srtt_us >> 3;
	} else {
		__sync_fetch_and_add(&c->bytes_recv, ret);
		/* Data from the server: a local server has finished its handshake, so its tuple
		 * lookup is done. */
		if ((c->slot && !(c->flags & LINK_F_SERVER_SLOT)) || (c->flags & LINK_F_TUPLE))
			withdraw_tuple(c, key);
	}
	/* No clock read here: user space sees the counts move between two polls, which dates the
	 * activity closely enough and keeps the hot path short. */
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(link_send, struct sock *sk, int ret, int flags)
{
	return on_payload(sk, ret, flags, 1);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(link_recv, struct sock *sk, int ret, int flags)
{
	return on_payload(sk, ret, flags, 0);
}

/* Since Linux 6.17 (ad892e912b84) tcp_retransmit_skb fires on failed attempts too, with the
 * result as a third argument and an err field in the event. A failed attempt (most often -EBUSY:
 * the original skb still sits in a local queue) sends nothing and is not in the kernel's
 * RetransSegs, so it is not counted; the field tells at load time whether the argument exists. */
struct trace_event_raw_tcp_retransmit_skb___err {
	int err;
} __attribute__((preserve_access_index));

SEC("tp_btf/tcp_retransmit_skb")
int link_retransmit(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	__u64 key = (__u64)sk;
	__u32 idx;
	struct link_conn *c, *p;
	struct link_server *s;

	if (bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb___err, err) && (int)ctx[2])
		return 0;
	idx = sk_slot_index(key, RUN_RETRANSMIT);
	c = conn_in_slot(key, idx);
	if (!c) {
		/* A local server in its slot: its retransmits go to its client's entry. */
		s = own_server_slot(key, idx);
		if (s) {
			p = find_conn(s->peer_sk);
			if (p && p->start_ns == s->peer_start_ns)
				__sync_fetch_and_add(&p->peer_retransmits, 1);
			return 0;
		}
		c = bpf_map_lookup_elem(&link_conns, &key);
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(&c->retransmits, 1);
	p = peer_of(c);
	if (p)
		__sync_fetch_and_add(&p->peer_retransmits, 1);
	return 0;
}
