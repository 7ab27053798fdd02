// SPDX-License-Identifier: GPL-2.0
/* The links bench's floor: programs that do nothing, on the same raw tracepoints as links.bpf.c.
 * What they cost is the price of having the tracepoints enabled at all. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/inet_sock_set_state")
int empty_state(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sock_send_length")
int empty_send(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sock_recv_length")
int empty_recv(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/tcp_retransmit_skb")
int empty_retransmit(void *ctx)
{
	return 0;
}
