// Addon test program: counts what one process sends (tracepoint, raw tracepoint) and the UDP
// datagrams to one port that TC sees on an interface. Proves load, rodata, attach and map reads.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP_ 17
#define TC_ACT_OK 0

// Set from TypeScript before load: only datagrams to this UDP port are counted.
const volatile __u16 udp_port = 0;

struct send_count {
  __u64 calls;
  __u64 bytes;
};

// tgid → sendmsg calls and bytes, from the sock:sock_send_length tracepoint.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, struct send_count);
} sends SEC(".maps");

// tgid → syscalls entered, from the sys_enter raw tracepoint.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} syscalls SEC(".maps");

struct tc_key {
  __u32 ifindex;
  __u32 ingress;
};

// (ifindex, direction) → UDP datagrams to udp_port.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, struct tc_key);
  __type(value, __u64);
} packets SEC(".maps");

SEC("tracepoint/sock/sock_send_length")
int count_send(struct trace_event_raw_sock_msg_length *ctx) {
  if (ctx->ret <= 0) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  struct send_count *c = bpf_map_lookup_elem(&sends, &tgid);
  if (!c) {
    struct send_count zero = {};
    bpf_map_update_elem(&sends, &tgid, &zero, BPF_NOEXIST);
    c = bpf_map_lookup_elem(&sends, &tgid);
    if (!c) return 0;
  }
  __sync_fetch_and_add(&c->calls, 1);
  __sync_fetch_and_add(&c->bytes, ctx->ret);
  return 0;
}

SEC("raw_tracepoint/sys_enter")
int count_syscalls(struct bpf_raw_tracepoint_args *ctx) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u64 one = 1, *n = bpf_map_lookup_elem(&syscalls, &tgid);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&syscalls, &tgid, &one, BPF_NOEXIST);
  return 0;
}

static __always_inline void count_udp(struct __sk_buff *skb, __u32 ingress) {
  void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP_ || ip->ihl != 5) return;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > end || udp->dest != bpf_htons(udp_port)) return;
  struct tc_key key = {.ifindex = skb->ifindex, .ingress = ingress};
  __u64 one = 1, *n = bpf_map_lookup_elem(&packets, &key);
  if (n)
    __sync_fetch_and_add(n, 1);
  else
    bpf_map_update_elem(&packets, &key, &one, BPF_NOEXIST);
}

SEC("tc")
int udp_ingress(struct __sk_buff *skb) {
  count_udp(skb, 1);
  return TC_ACT_OK;
}

SEC("tc")
int udp_egress(struct __sk_buff *skb) {
  count_udp(skb, 0);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
