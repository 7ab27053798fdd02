import { describe, expect, it } from 'vitest';
import { aggregateLinks, aggregateFlows, shape, topN } from '../../src/collector/tables/aggregate.js';
import { flowMatches, linkMatches } from '../../src/collector/tables/filters.js';
import { link, flow } from '../helpers/records.js';

describe('aggregateLinks', () => {
  it('keeps every link at endpoint level, with node ids on both ends', () => {
    const out = aggregateLinks([link(2), link(1)], 'endpoint');
    expect(out.map((r) => r.id)).toEqual(['l000001', 'l000002']);
    expect(out[0]!.client.id).toBe('ip:netns:[4026531840]/10.51.0.1');
    expect(out[0]!.server.id).toBe('ip:netns:[4026531841]/10.51.255.1');
  });

  it('sums links between the same nodes at a coarser level and keeps only fields both ends agree on', () => {
    const a = link(1, { rttMs: 0.2, connections: { active: 1, closed: 2, failed: 0 } });
    const b = link(2, { rttMs: 0.5, connections: { active: 0, closed: 1, failed: 1 }, firstSeen: 5, lastSeen: 1_800_000_000_000 });
    const out = aggregateLinks([a, b], 'netns');
    expect(out).toHaveLength(1);
    const r = out[0]!;
    expect(r.id).toBe('netns:netns:[4026531840]>netns:netns:[4026531841]:tcp/8080');
    expect(r.bytesSent).toBe(300);
    expect(r.bytesReceived).toBe(3000);
    expect(r.connections).toEqual({ active: 1, closed: 3, failed: 1 });
    expect(r.rttMs).toBe(0.5);
    expect(r.firstSeen).toBe(5);
    expect(r.lastSeen).toBe(1_800_000_000_000);
    expect(r.client.process).toBe('curl');
    expect(r.client.ip).toBeUndefined();
    expect(r.client.id).toBe('netns:netns:[4026531840]');
    expect(r.server.ip).toBe('10.51.255.1');
  });

  it('keeps different server ports apart', () => {
    const b = link(2);
    b.server = { ...b.server, port: 9090 };
    expect(aggregateLinks([link(1), b], 'netns')).toHaveLength(2);
  });

  it('falls back to the address for ends without the level name', () => {
    const out = aggregateLinks([link(1), link(2)], 'pod');
    expect(out).toHaveLength(2);
    expect(out[0]!.client.id).toBe('ip:netns:[4026531840]/10.51.0.1');
  });
});

describe('topN', () => {
  it('keeps the heaviest records and returns them by id', () => {
    const recs = [link(1), link(5), link(3), link(4)];
    expect(topN('links', recs, 2).map((r) => r.id)).toEqual(['l000004', 'l000005']);
    expect(topN('links', recs, 0)).toBe(recs);
  });
});

describe('filters', () => {
  it('match namespace, kind, port, protocol, name, endpoint and peer', () => {
    const r = link(7, { client: { ip: '10.0.0.7', namespace: 'shop', pod: 'cart-1', kind: 'pod' } });
    expect(linkMatches(r, { namespace: 'shop' })).toBe(true);
    expect(linkMatches(r, { namespace: 'other' })).toBe(false);
    expect(linkMatches(r, { kind: 'pod' })).toBe(true);
    expect(linkMatches(r, { port: 8080, protocol: 'tcp' })).toBe(true);
    expect(linkMatches(r, { port: 80 })).toBe(false);
    expect(linkMatches(r, { protocol: 'udp' })).toBe(false);
    expect(linkMatches(r, { name: 'CART' })).toBe(true);
    expect(linkMatches(r, { name: 'nginx' })).toBe(true);
    expect(linkMatches(r, { name: 'redis' })).toBe(false);
    expect(linkMatches(r, { endpoint: 'ip:10.0.0.7' })).toBe(true);
    expect(linkMatches(r, { endpoint: 'ip:10.0.0.7', peer: 'ip:netns:[4026531841]/10.51.255.1' })).toBe(true);
    expect(linkMatches(r, { endpoint: 'ip:10.0.0.7', peer: 'ip:10.9.9.9' })).toBe(false);
    expect(linkMatches(r, { interface: 'eth0' })).toBe(false);
  });

  it('match flows on either port and the interface', () => {
    const f = flow(3);
    expect(flowMatches(f, { port: 40003 })).toBe(true);
    expect(flowMatches(f, { port: 8080, interface: 'eth0' })).toBe(true);
    expect(flowMatches(f, { interface: 'lo' })).toBe(false);
    expect(flowMatches(f, { name: '10.51.255' })).toBe(true);
  });
});

describe('aggregateFlows and shape', () => {
  it('groups flows between the same nodes on one interface and direction', () => {
    const out = aggregateFlows([flow(1, { src: '10.51.0.9' }), flow(2, { src: '10.51.0.9' }), flow(3, { direction: 'ingress' })], 'endpoint');
    expect(out).toHaveLength(3);
    const grouped = aggregateFlows([flow(1, { src: '10.51.0.9' }), flow(2, { src: '10.51.0.9' })], 'netns');
    expect(grouped).toHaveLength(1);
    expect(grouped[0]!.bytes).toBe(180);
    expect(grouped[0]!.packets).toBe(3);
    expect(grouped[0]!.srcPort).toBe(0);
    expect(grouped[0]!.dstPort).toBe(8080);
  });

  it('filters, aggregates and bounds in one call', () => {
    const recs = [link(1), link(2), link(3, { protocol: 'udp' })];
    const out = shape('links', recs, { filter: { protocol: 'tcp' }, aggregate: 'endpoint', top: 1 });
    expect(out.map((r) => r.id)).toEqual(['l000002']);
  });
});

describe('topN against a full sort', () => {
  it('keeps exactly the records a full sort would, ties broken by id', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const recs = Array.from({ length: 2000 }, (_, i) => link(i, { bytesSent: rand(50), bytesReceived: rand(3) }));
    for (const top of [1, 7, 100, 1999]) {
      const expected = [...recs]
        .sort((a, b) => b.bytesSent + b.bytesReceived - (a.bytesSent + a.bytesReceived) || (a.id < b.id ? -1 : 1))
        .slice(0, top)
        .map((r) => r.id)
        .sort();
      expect(topN('links', recs, top).map((r) => r.id)).toEqual(expected);
    }
  });
});
