// Many short connections: all of them counted (the kernel adds closed client connections up per
// link), and when neither the fold map nor the ring buffer behind it has room (deliberately tiny
// ones), the loss counter says exactly how many are missing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { linkBetween, startAgent, waitForLinks, warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import type { LinkRecord } from '../../src/protocol/index.js';

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

  /**
   * Runs the churn agents, one pair per port at the same time; returns the most connections the
   * collector saw open at once on the first port's link. With `bursts`, checks that each burst of
   * 250 opened within a second.
   */
  async function churn(collector: LinkCollector, ports: number[], holdMs: number, bursts = true): Promise<number> {
    let maxActive = 0;
    const off = collector.onChange(() => {
      const l = linkBetween(collector.records(), wire.aIp, wire.bIp, ports[0]!)[0];
      if (l) maxActive = Math.max(maxActive, l.connections.active);
    });
    const agents: ReturnType<typeof startAgent>[] = [];
    try {
      const runs = ports.map(async (port) => {
        const server = startAgent(wire.b, ['churn-server', '--host', wire.bIp, '--port', String(port), '--conns', String(CONNS), '--burst', String(BURST)]);
        agents.push(server);
        await server.line(/^ready$/);
        const client = startAgent(wire.a, ['churn', '--host', wire.bIp, '--port', String(port), '--conns', String(CONNS), '--burst', String(BURST), '--hold-ms', String(holdMs)]);
        agents.push(client);
        for (let i = 0; bursts && i < CONNS / BURST; i++) {
          const [, n, seconds] = (await client.line(new RegExp(`^open ${BURST} `))).split(' ');
          // Each burst: 250 connections opened within one second, all still open together.
          expect(Number(n)).toBe(BURST);
          expect(Number(seconds)).toBeLessThan(1);
        }
        await client.done(60_000);
        await server.done();
      });
      await Promise.all(runs);
    } finally {
      for (const a of agents) a.kill();
      off();
    }
    return maxActive;
  }

  it('counts all 1,000 of 1,000 short connections, 250 open at once', async () => {
    const collector = await startLinkCollector({ pollIntervalMs: 100 });
    try {
      const maxActive = await churn(collector, [7001], 400);
      const link = await waitForLinks(collector, (links) => {
        const l = linkBetween(links, wire.aIp, wire.bIp, 7001)[0];
        return l && l.connections.active === 0 && l.connections.closed >= CONNS ? l : undefined;
      });
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
    // Only the client's namespace: every fold and close record here is one of these. Two links
    // churn at once into a one-entry fold map: in each poll the first link to close takes the
    // entry, the other's closes fall back to close records, more than a 4 KiB ring holds.
    const onlyNetns = statSync(wire.a.path).ino;
    const ports = [7002, 7004];
    const collector = await startLinkCollector({ pollIntervalMs: 100, ringBufferBytes: 4096, mapSizes: { folds: 1 }, onlyNetns });
    try {
      await churn(collector, ports, 0, false);
      const total = (links: LinkRecord[]): number =>
        ports.reduce((sum, port) => sum + (linkBetween(links, wire.aIp, wire.bIp, port)[0]?.connections.closed ?? 0), 0);
      const links = await waitForLinks(collector, (all) => {
        const open = ports.some((port) => (linkBetween(all, wire.aIp, wire.bIp, port)[0]?.connections.active ?? 1) !== 0);
        return !open && total(all) + collector.health().ringBufferLost >= ports.length * CONNS ? all : undefined;
      }, 15_000);
      const h = collector.health();
      expect(h.ringBufferLost).toBeGreaterThan(0);
      expect(h.foldMapFull).toBeGreaterThan(0);
      expect(h.foldedCloses).toBeGreaterThan(0);
      expect(total(links)).toBe(ports.length * CONNS - h.ringBufferLost);
      // Each link: exactly its closed connections' bytes (1 each way), none open, none failed.
      for (const port of ports) {
        const l = linkBetween(links, wire.aIp, wire.bIp, port)[0]!;
        expect(l.connections.active).toBe(0);
        expect(l.connections.failed).toBe(0);
        expect(l.bytesSent).toBe(l.connections.closed);
        expect(l.bytesReceived).toBe(l.connections.closed);
      }
    } finally {
      await collector.close();
    }
  });

  it('with a tiny connection map, reports the refused inserts instead of losing them silently', async () => {
    const onlyNetns = statSync(wire.a.path).ino;
    const collector = await startLinkCollector({ pollIntervalMs: 100, mapSizes: { conns: 64 }, onlyNetns });
    try {
      const maxActive = await churn(collector, [7003], 300);
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
