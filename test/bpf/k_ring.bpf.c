// Addon test program: each run submits one numbered record to a ring buffer, so a test (driving
// it with BPF_PROG_TEST_RUN, repeat = N) can check that Node receives all N in order. A record
// that finds the buffer full is counted in `drops` instead of vanishing silently.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

// Copied into every record; set from TypeScript to prove .rodata reaches the program.
const volatile __u32 marker = 0;

struct k_ring_event {
  __u64 seq;
  __u64 ktime;
  __u32 marker;
  __u16 len;
  __u8 kind;
  __u8 flags;
};

// Ring buffer maps carry no value type, so name the record once for BTF (layout tests read it).
const struct k_ring_event *k_ring_event_btf __attribute__((unused));

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16);
} events SEC(".maps");

// [0] = next sequence number, [1] = records dropped because the buffer was full.
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("tc")
int submit(struct __sk_buff *skb) {
  __u32 seq_key = 0, drop_key = 1;
  __u64 *next = bpf_map_lookup_elem(&counters, &seq_key);
  __u64 *drops = bpf_map_lookup_elem(&counters, &drop_key);
  if (!next || !drops) return 0;
  struct k_ring_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    __sync_fetch_and_add(drops, 1);
    return 0;
  }
  e->seq = __sync_fetch_and_add(next, 1);
  e->ktime = bpf_ktime_get_ns();
  e->marker = marker;
  e->len = skb->len;
  // From the test run's context (__sk_buff.mark), to prove ctx_in reaches the program.
  e->kind = skb->mark;
  e->flags = 0;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
