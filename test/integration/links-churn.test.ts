// Many short connections: all of them counted when the ring buffer keeps up, and when it cannot
// (a deliberately tiny one), the loss counter says exactly how many are missing.
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

  /** Runs the churn agents; returns the most connections the collector saw open at once. */
  async function churn(collector: LinkCollector, port: number, holdMs: number): Promise<number> {
    let maxActive = 0;
    const off = collector.onChange(() => {
      const l = linkBetween(collector.records(), wire.aIp, wire.bIp, port)[0];
      if (l) maxActive = Math.max(maxActive, l.connections.active);
    });
    const server = startAgent(wire.b, ['churn-server', '--host', wire.bIp, '--port', String(port), '--conns', String(CONNS), '--burst', String(BURST)]);
    try {
      await server.line(/^ready$/);
      const client = startAgent(wire.a, ['churn', '--host', wire.bIp, '--port', String(port), '--conns', String(CONNS), '--burst', String(BURST), '--hold-ms', String(holdMs)]);
      for (let i = 0; i < CONNS / BURST; i++) {
        const [, n, seconds] = (await client.line(new RegExp(`^open ${BURST} `))).split(' ');
        // Each burst: 250 connections opened within one second, all still open together.
        expect(Number(n)).toBe(BURST);
        expect(Number(seconds)).toBeLessThan(1);
      }
      await client.done(60_000);
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
      const link = await waitForLinks(collector, (links) => {
        const l = linkBetween(links, wire.aIp, wire.bIp, 7001)[0];
        return l && l.connections.active === 0 && l.connections.closed >= CONNS ? l : undefined;
      });
      expect(maxActive).toBeGreaterThanOrEqual(200);
      expect(link.connections).toEqual({ active: 0, closed: CONNS, failed: 0 });
      expect(link.bytesSent).toBe(CONNS);
      expect(link.bytesReceived).toBe(CONNS);
      expect(collector.health().ringBufferLost).toBe(0);
      expect(collector.health().mapFullLost).toBe(0);
    } finally {
      await collector.close();
    }
  });

  it('with a tiny ring buffer, counts exactly the connections it lost', async () => {
    // Only the client's namespace: every close record in this ring buffer is one of these.
    const onlyNetns = statSync(wire.a.path).ino;
    const collector = await startLinkCollector({ pollIntervalMs: 100, ringBufferBytes: 4096, onlyNetns });
    try {
      await churn(collector, 7002, 0);
      const link = await waitForLinks(collector, (links) => {
        const l = linkBetween(links, wire.aIp, wire.bIp, 7002)[0];
        return l && l.connections.active === 0 && l.connections.closed + collector.health().ringBufferLost >= CONNS ? l : undefined;
      }, 15_000);
      const lost = collector.health().ringBufferLost;
      expect(lost).toBeGreaterThan(0);
      expect(link.connections.closed).toBe(CONNS - lost);
      expect(link.connections.active).toBe(0);
    } finally {
      await collector.close();
    }
  });

  it('with a tiny connection map, reports the refused inserts instead of losing them silently', async () => {
    const onlyNetns = statSync(wire.a.path).ino;
    const collector = await startLinkCollector({ pollIntervalMs: 100, mapSizes: { conns: 64 }, onlyNetns });
    try {
      const maxActive = await churn(collector, 7003, 300);
      await waitForLinks(collector, (links) => {
        const l = linkBetween(links, wire.aIp, wire.bIp, 7003)[0];
        return l && l.connections.active === 0 ? l : undefined;
      });
      const h = collector.health();
      expect(h.mapFill.capacity).toBe(64);
      expect(maxActive).toBeLessThanOrEqual(64);
      // 250 open at once in a map of 64: at least 186 connections found it full at their connect.
      expect(h.mapFullLost).toBeGreaterThanOrEqual(BURST - 64);
    } finally {
      await collector.close();
    }
  });
});
