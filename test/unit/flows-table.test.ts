import { describe, expect, it, vi } from 'vitest';
import type { FlowSample } from '../../src/collector/kernel/flows-layout.js';
import { FlowStore, type FlowInterface } from '../../src/collector/tables/flows.js';
import type { ChangeKind } from '../../src/collector/tables/types.js';

const ifaces: Record<number, FlowInterface> = {
  1: { name: 'vpa', closeness: 0, netns: 'node' },
  2: { name: 'vpb', closeness: 0, netns: 'node' },
  3: { name: 'br0', closeness: 2, netns: 'node' },
};

function store(over: Partial<ConstructorParameters<typeof FlowStore>[0]> = {}): FlowStore {
  return new FlowStore({
    idleTimeoutMs: 5000,
    historyMs: 60_000,
    toEpochMs: (ns) => ns / 1e6,
    lookupInterface: (_n, i) => ifaces[i],
    ...over,
  });
}

function sample(ifindex: number, direction: 'ingress' | 'egress', packets: number, atMs: number, over: Partial<FlowSample> = {}): FlowSample {
  return {
    src: '10.41.1.2', dst: '10.41.1.3', srcPort: 5000, dstPort: 6000, proto: 17, ifindex, netnsInode: 7, direction,
    packets, bytes: packets * 128, payloadBytes: packets * 100, firstNs: atMs * 1e6, lastNs: atMs * 1e6, tcpFlags: 0,
    ...over,
  };
}

describe('flow table', () => {
  it('changes its records in place, and hands out one array until a flow comes or goes', () => {
    vi.useFakeTimers({ now: 1000 });
    try {
      const t = store({ rateWindowMs: 10_000 });
      t.ingest([sample(1, 'ingress', 1, 1000)], 1000);
      const rs = t.records();
      const [r] = rs;
      vi.setSystemTime(2000);
      t.ingest([sample(1, 'ingress', 9, 1800)], 2000);
      expect(t.records()).toBe(rs);
      expect(t.records()[0]).toBe(r);
      expect(r).toMatchObject({ packets: 10, bytes: 1280 });
      expect(r!.rate).toBeGreaterThan(0);
      t.ingest([sample(2, 'egress', 1, 2500)], 2500);
      const next = t.records();
      expect(next).not.toBe(rs);
      expect(rs).toHaveLength(1);
      expect(next).toHaveLength(2);
      expect(next).toContain(r);
    } finally {
      vi.useRealTimers();
    }
  });

  it('adds each drain to the live records', () => {
    const t = store();
    t.ingest([sample(1, 'ingress', 3, 1000)], 1000);
    t.ingest([sample(1, 'ingress', 2, 1800)], 2000);
    const [r] = t.records();
    expect(r).toMatchObject({ packets: 5, bytes: 640, payloadBytes: 500, protocol: 'udp', interface: 'vpa', netns: 'node', direction: 'ingress', firstSeen: 1000, lastSeen: 1800, sampling: 1 });
    expect(r!.duplicate).toBeUndefined();
    expect(t.size()).toBe(1);
  });

  it('marks copies of the same packets on other interfaces, and keeps them marked', () => {
    const t = store();
    t.ingest([sample(1, 'ingress', 4, 1000), sample(3, 'ingress', 4, 1000), sample(2, 'egress', 4, 1000)], 1000);
    t.ingest([sample(2, 'egress', 1, 1500)], 2000);
    const byIf = Object.fromEntries(t.records().map((r) => [r.interface, r]));
    expect(byIf.vpa!.duplicate).toBeUndefined();
    expect(byIf.br0!.duplicate).toBe(true);
    expect(byIf.vpb!.duplicate).toBe(true);
    expect(byIf.vpb!.packets).toBe(5);
  });

  it('tells topology changes from figure changes, and says nothing when nothing moved', () => {
    const t = store();
    const seen: ChangeKind[] = [];
    t.onChange((k) => seen.push(k));
    t.ingest([sample(1, 'ingress', 1, 1000)], 1000);
    t.ingest([sample(1, 'ingress', 1, 1100)], 1200);
    t.ingest([], 1300);
    expect(seen).toEqual(['topology', 'figures']);
  });

  it('ends idle flows (rate 0) and forgets them after the history window', () => {
    const t = store();
    t.ingest([sample(1, 'ingress', 10, 1000)], 1000);
    expect(t.liveCount()).toBe(1);
    t.tick(7000);
    expect(t.liveCount()).toBe(0);
    expect(t.records()[0]!.rate).toBe(0);
    expect(t.size()).toBe(1);
    t.tick(1000 + 5000 + 60_001);
    expect(t.size()).toBe(0);
  });

  it('stays within maxFlows, dropping ended flows first, then the longest idle', () => {
    const t = store({ maxFlows: 2 });
    t.ingest([sample(1, 'ingress', 1, 1000, { srcPort: 1 })], 1000);
    t.ingest([sample(1, 'ingress', 1, 7000, { srcPort: 2 }), sample(1, 'ingress', 1, 7000, { srcPort: 3 })], 7000);
    expect(t.records().map((r) => r.srcPort).sort()).toEqual([2, 3]); // port 1 had ended
    t.ingest([sample(1, 'ingress', 1, 7500, { srcPort: 4 }), sample(1, 'ingress', 1, 7600, { srcPort: 3 })], 7600);
    expect(t.records().map((r) => r.srcPort).sort()).toEqual([3, 4]);
    expect(t.evicted).toBe(2);
  });

  it('counts samples from interfaces it does not know instead of inventing names', () => {
    const t = store();
    t.ingest([sample(99, 'ingress', 1, 1000)], 1000);
    expect(t.size()).toBe(0);
    expect(t.unknownInterfaceSamples).toBe(1);
  });

  it('names ICMP, TCP and other protocols and carries the sampling rate', () => {
    const t = store({ sampling: 10 });
    t.ingest([sample(1, 'ingress', 1, 1000, { proto: 1 }), sample(1, 'ingress', 1, 1000, { proto: 6 }), sample(1, 'ingress', 1, 1000, { proto: 132 })], 1000);
    expect(t.records().map((r) => r.protocol).sort()).toEqual(['icmp', 'other', 'tcp']);
    expect(t.records().every((r) => r.sampling === 10)).toBe(true);
  });

  it('asks the resolver for both ends', () => {
    const t = store({ resolver: { resolve: (f) => ({ ip: f.ip, name: `n-${f.ip}`, ...(f.port ? { port: f.port } : {}) }), close: () => undefined } });
    t.ingest([sample(1, 'ingress', 1, 1000)], 1000);
    expect(t.records()[0]!.srcEndpoint).toEqual({ ip: '10.41.1.2', port: 5000, name: 'n-10.41.1.2' });
    expect(t.records()[0]!.dstEndpoint!.name).toBe('n-10.41.1.3');
  });

  it('asks the resolver again once the names are 5 s old, keeping unchanged ones as they were', () => {
    vi.useFakeTimers({ now: 100_000 });
    try {
      let asked = 0;
      let suffix = 'a';
      const t = store({ resolver: { resolve: (f) => (asked++, { ip: f.ip, name: `${f.ip.endsWith('.2') ? suffix : 'fixed'}` }), close: () => undefined } });
      t.ingest([sample(1, 'ingress', 1, 1000)], 1000);
      const first = t.records()[0]!;
      const { srcEndpoint: firstSrc, dstEndpoint: firstDst } = first;
      expect(asked).toBe(2);
      suffix = 'b';
      t.ingest([sample(1, 'ingress', 1, 2000)], 2000);
      expect(t.records()[0]!.srcEndpoint!.name).toBe('a');
      expect(asked).toBe(2);
      vi.setSystemTime(105_000);
      t.ingest([sample(1, 'ingress', 1, 3000)], 3000);
      const later = t.records()[0]!;
      expect(asked).toBe(4);
      expect(later.srcEndpoint!.name).toBe('b');
      expect(later.srcEndpoint).not.toBe(firstSrc);
      expect(firstSrc!.name).toBe('a');
      expect(later.dstEndpoint).toBe(firstDst);
    } finally {
      vi.useRealTimers();
    }
  });
});
