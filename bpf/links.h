/* Records shared by links.bpf.c and its decoder (src/collector/kernel/links-records.ts).
 * Fixed layout, little-endian, explicit padding: the decoder reads these offsets directly. */
#ifndef WEFT_LINKS_H
#define WEFT_LINKS_H

/* Role of the socket this view belongs to. */
#define LINK_ROLE_UNKNOWN 0 /* open before the collector started: userspace decides from listeners */
#define LINK_ROLE_CLIENT 1  /* active open (SYN_SENT) */
#define LINK_ROLE_SERVER 2  /* passive open (SYN_RECV -> ESTABLISHED) */

/* link_conn.flags */
#define LINK_F_ESTABLISHED 0x01 /* reached ESTABLISHED while watched (or was already there) */
#define LINK_F_FIN_IN 0x02      /* at close: the peer's FIN arrived after the baseline (SOCK_DONE) */
#define LINK_F_PEER_LOCAL 0x04  /* server view whose client socket is on this host: the client counts,
				 * and carries this view's process and retransmits (peer_* fields) */
#define LINK_F_HAS_BASE 0x08    /* base_snd / base_rcv are set */
#define LINK_F_HAS_PID 0x10     /* pid and comm were taken in process context */
#define LINK_F_FIN_READ 0x20    /* found mid-life with the peer's FIN already read: the baseline counts it */
#define LINK_F_TUPLE 0x40       /* client view whose 4-tuple is in link_tuples (until its server finds it,
				 * its first receive, or its close) */
#define LINK_F_SERVER_SLOT 0x80 /* client view whose local server has no entry: its link_servers slot
				 * (peer_sk) holds the server's process */

/* Indices of the `link_counters` array. */
#define LINK_CTR_RING_LOST 0  /* close record lost (ring buffer full): a connection missing */
#define LINK_CTR_CONN_FULL 1  /* new connection not tracked: link_conns full */
#define LINK_CTR_TUPLE_FULL 2 /* client tuple not indexed: link_tuples full */
#define LINK_CTR_FOLD_FULL 3 /* closed client connection not folded (link_folds full): sent as a close record instead */
#define LINK_CTR_MAX 4

/* One socket's view of one connection; the value of link_conns, keyed by the socket pointer.
 * The fields a server view's process writes (its first send or receive) and its close reads come
 * first, together: with client and server on different CPUs its entry moves between them twice
 * per connection, and each cache line it spans is a miss each time. */
struct link_conn {
	__u64 sk;          /* socket pointer: identity together with start_ns */
	__u64 start_ns;    /* bpf_ktime_get_ns() at first sight: a reused socket gets a new one */
	__u64 bytes_sent;  /* payload written by the application (sock_send_length) */
	__u64 bytes_recv;  /* payload read by the application (sock_recv_length) */
	__u32 pid;         /* tgid */
	__u32 srtt_us;     /* smoothed RTT in microseconds (tcp_sock.srtt_us >> 3) */
	char comm[16];
	/* Both ends on this host: peer_sk and peer_start_ns name the other view's entry (a server
	 * view has LINK_F_PEER_LOCAL). */
	__u64 peer_sk;
	__u64 peer_start_ns;
	__u16 sport;       /* host byte order */
	__u16 dport;
	__u16 family;      /* AF_INET or AF_INET6 */
	__u8 role;
	__u8 flags;
	__u64 last_ns;     /* last state change but ESTABLISHED and the closing steps FIN_WAIT1/2,
			    * CLOSE_WAIT, CLOSING, LAST_ACK (sends and receives: user space sees counts move) */
	__u64 cgroup_id;
	__u32 base_snd;    /* tcp_sock.write_seq at the baseline */
	__u32 base_rcv;    /* tcp_sock.rcv_nxt (handshake) or copied_seq (first sight) at the baseline */
	__u32 netns;       /* inode of the socket's network namespace */
	__u32 retransmits;
	__u8 saddr[16];    /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	/* In a client view whose server is on this host: the server's namespace (from the
	 * handshake), process (at the first close of the two) and retransmits. */
	__u32 peer_pid;
	__u32 peer_netns;
	__u32 peer_retransmits;
	__u32 slot;        /* client view: 1 + an index, else 0: in link_tuple_slots while its tuple is
			    * there, then with LINK_F_SERVER_SLOT in link_servers (its server's) */
	char peer_comm[16];
};

/* The server view of a local pair, in a slot of link_servers chosen by the server socket's pointer
 * instead of an entry of its own (the client's entry counts the connection). One cache line. */
struct link_server {
	__u64 sk;            /* the server socket; 0: free (claimed with compare-and-swap) */
	__u64 peer_sk;       /* the client's entry: its socket (0 once it closed) and start time */
	__u64 peer_start_ns;
	__u32 pid;           /* the server's process, from its first send or receive */
	__u32 flags;         /* LINK_F_HAS_PID */
	char comm[16];
	__u64 pad[2];
};

/* A connection leaving the kernel: its final counts, sent through link_events at CLOSE (not for
 * peer-local server views: their client's record carries them). */
struct link_close {
	struct link_conn conn;
	__u64 end_ns;
	__u32 end_snd;     /* write_seq at close */
	__u32 end_rcv;     /* rcv_nxt at close */
	__u32 sk_err;
	__u8 oldstate;     /* the state CLOSE was entered from */
	__u8 sock_done;    /* SOCK_DONE: set by tcp_fin(), i.e. the peer's FIN arrived */
	__u8 pad[2];
};

/* Closed client connections folded per link in the kernel (link_folds_a/b): the link_fold_key says
 * which link (the table's link id: client namespace and address -> server address and port) and
 * which process, the value what its closed connections add up to since the last drain (one copy per
 * CPU: the decoder adds them up). The map's key is a 64-bit hash of the link_fold_key, which each
 * copy carries: hashing 8 bytes instead of 48 takes ~11 ns off a client's close. */
struct link_fold_key {
	__u8 client[16];   /* IPv4 in the first 4 bytes */
	__u8 server[16];
	__u32 netns;       /* the client's */
	__u32 pid;         /* the client's tgid (exclusions go by pid) */
	__u16 family;
	__u16 port;        /* server port, host byte order */
	__u32 pad;
};

struct link_fold {
	struct link_fold_key key; /* the link this CPU's copy counts (zeros: no close on this CPU yet) */
	__u64 bytes_sent;  /* final counts, cross-checked against the socket's sequence numbers */
	__u64 bytes_recv;
	__u64 closed;      /* connections that were established */
	__u64 failed;      /* connects that never were */
	__u64 retransmits; /* both ends */
	__u64 corrections; /* directions whose traced count the socket's counters corrected */
	__u64 first_ns;    /* start of the earliest connection folded */
	__u64 last_ns;     /* close of the latest */
	__u64 cgroup_id;   /* latest seen, as are the fields below */
	__u32 srtt_us;
	__u32 peer_pid;
	__u32 peer_netns;
	__u32 pad;
	char comm[16];
	char peer_comm[16];
};

#endif
