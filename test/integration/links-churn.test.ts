// Many short connections: all of them counted (the kernel adds closed client connections up per
// link), and when neither the fold map nor the ring buffer behind it has room (deliberately tiny
// ones), the loss counter says exactly how many are missing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { linkBetween, startAgent, waitForLinks, warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';

const CONNS = 1000;
const BURST = 250;

describePrivileged('links: connection churn', () => {
  let wire: Wire;

  beforeAll(() => {
    wire = createWire(33);
    warmUp(wire.a, wire.bIp);
    // 1,000 connects from one address to one port: plenty of ephemeral ports, reuse of TIME_WAIT.
    wire.a.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1']);
  });

  afterAll(() => destroyAll());

  /** The link to `port` once all its connections closed and at least `closed` are counted. */
  const settledLink = (collector: LinkCollector, port: number, closed = 0) =>
    waitForLinks(collector, (links) => {
      const l = linkBetween(links, wire.aIp, wire.bIp, port)[0];
      return l && l.connections.active === 0 && l.connections.closed >= closed ? l : undefined;
    });

  /**
   * Runs the churn agents; returns the most connections the collector saw open at once. With
   * `bursts`, checks that each burst of 250 opened within a second.
   */
  async function churn(collector: LinkCollector, port: number, holdMs: number, bursts = true): Promise<number> {
    let maxActive = 0;
    const off = collector.onChange(() => {
      const l = linkBetween(collector.records(), wire.aIp, wire.bIp, port)[0];
      if (l) maxActive = Math.max(maxActive, l.connections.active);
    });
    const server = startAgent(wire.b, ['churn-server', '--host', wire.bIp, '--port', String(port), '--conns', String(CONNS), '--burst', String(BURST)]);
    try {
      await server.line(/^ready$/);
      const client = startAgent(wire.a, ['churn', '--host', wire.bIp, '--port', String(port), '--conns', String(CONNS), '--burst', String(BURST), '--hold-ms', String(holdMs)]);
      await client.done(60_000);
      if (bursts) {
        // Each burst, not just the first: 250 connections opened within one second, all still open together.
        const seconds = client.lines(new RegExp(`^open ${BURST} `)).map((l) => Number(l.split(' ')[2]));
        expect(seconds).toHaveLength(CONNS / BURST);
        for (const s of seconds) expect(s).toBeLessThan(1);
      }
      await server.done();
    } finally {
      server.kill();
      off();
    }
    return maxActive;
  }

  it('counts all 1,000 of 1,000 short connections, 250 open at once', async () => {
    const collector = await startLinkCollector({ pollIntervalMs: 100 });
    try {
      const maxActive = await churn(collector, 7001, 400);
      const link = await settledLink(collector, 7001, CONNS);
      expect(maxActive).toBeGreaterThanOrEqual(200);
      expect(link.connections).toEqual({ active: 0, closed: CONNS, failed: 0 });
      expect(link.bytesSent).toBe(CONNS);
      expect(link.bytesReceived).toBe(CONNS);
      const h = collector.health();
      expect(h.ringBufferLost).toBe(0);
      expect(h.mapFullLost).toBe(0);
      expect(h.foldMapFull).toBe(0);
      // Added up per link in the kernel (the host's other connections close meanwhile too).
      expect(h.foldedCloses).toBeGreaterThanOrEqual(CONNS);
    } finally {
      await collector.close();
    }
  });

  it('with a tiny fold map and ring buffer, counts exactly the connections it lost', async () => {
    // Only the client's namespace: every fold and close record here is one of these. A one-entry
    // fold map, not drained until the end (no poll meanwhile): the first link's closes all fold
    // into it; the second link's find it full and fall back to close records, more than a 4 KiB
    // ring holds.
    const onlyNetns = statSync(wire.a.path).ino;
    const collector = await startLinkCollector({ pollIntervalMs: 600_000, ringBufferBytes: 4096, mapSizes: { folds: 1 }, onlyNetns });
    try {
      await churn(collector, 7002, 0, false);
      await churn(collector, 7004, 0, false);
      const [folded, overflowed] = await waitForLinks(collector, (links) => {
        const f = linkBetween(links, wire.aIp, wire.bIp, 7002)[0];
        const o = linkBetween(links, wire.aIp, wire.bIp, 7004)[0];
        return f && o && f.connections.closed === CONNS && o.connections.closed + collector.health().ringBufferLost >= CONNS ? [f, o] : undefined;
      }, 15_000);
      const h = collector.health();
      expect(h.foldedCloses).toBe(CONNS);
      expect(h.foldMapFull).toBe(CONNS);
      expect(h.ringBufferLost).toBeGreaterThan(0);
      expect(folded.connections).toEqual({ active: 0, closed: CONNS, failed: 0 });
      expect(overflowed.connections).toEqual({ active: 0, closed: CONNS - h.ringBufferLost, failed: 0 });
      // Each link: exactly its closed connections' bytes (1 each way).
      for (const l of [folded, overflowed]) {
        expect(l.bytesSent).toBe(l.connections.closed);
        expect(l.bytesReceived).toBe(l.connections.closed);
      }
    } finally {
      await collector.close();
    }
  });

  it('with an 8-entry tuple map, 250 local pairs open at once are each counted once, none refused', async () => {
    // A client's tuple is only needed until its local server has found it (or it received its
    // first byte): 250 open pairs never hold more than the few in their handshake.
    const collector = await startLinkCollector({ pollIntervalMs: 100, mapSizes: { tuples: 8 } });
    try {
      const maxActive = await churn(collector, 7005, 400);
      const link = await settledLink(collector, 7005, CONNS);
      expect(maxActive).toBeGreaterThanOrEqual(200);
      expect(collector.health().tupleMapFull).toBe(0);
      // Not counted twice: one link, and no server view counted as if its client were elsewhere.
      expect(linkBetween(collector.records(), wire.aIp, wire.bIp, 7005)).toHaveLength(1);
      expect(collector.records().filter((l) => l.server.port === 7005)).toHaveLength(1);
      expect(link.connections).toEqual({ active: 0, closed: CONNS, failed: 0 });
      expect(link.bytesSent).toBe(CONNS);
      expect(link.bytesReceived).toBe(CONNS);
    } finally {
      await collector.close();
    }
  });

  it('with a tiny connection map, reports the refused inserts instead of losing them silently', async () => {
    const onlyNetns = statSync(wire.a.path).ino;
    // One slot besides the map: entries for 65 sockets at most.
    const collector = await startLinkCollector({ pollIntervalMs: 100, mapSizes: { conns: 64, slots: 1 }, onlyNetns });
    try {
      const maxActive = await churn(collector, 7003, 300);
      await settledLink(collector, 7003);
      const h = collector.health();
      expect(h.mapFill.capacity).toBe(65);
      expect(maxActive).toBeLessThanOrEqual(65);
      // 250 open at once with room for 65: at least 185 connections found it full at their connect.
      expect(h.mapFullLost).toBeGreaterThanOrEqual(BURST - 65);
    } finally {
      await collector.close();
    }
  });
});
