// From connect() returning on one test host to a subscribed WebSocket client seeing the new link:
// p99 over 200 connections (half of them never send a byte), through the real link collector at
// the default poll interval, with no top-N cut. Then the deltas the client applied equal a fresh
// snapshot.
import { afterAll, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { startServer, type WeftServer } from '../../src/collector/server/server.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import { WeftClient } from '../../src/cli/client.js';
import { LiveView } from '../../src/cli/live-view.js';
import { collectorCommand, toConfig } from '../../src/collector/config.js';
import type { DeltaMessage, FlowRecord, LinkRecord, SnapshotMessage } from '../../src/protocol/index.js';
import { FEATURES, TOKEN } from '../helpers/server.js';
import { clientScript, serverScript } from '../helpers/fresh-conns.js';

const COUNT = 200;
const BASE = 7100;

describePrivileged('freshness: connect() to a subscribed client seeing it', () => {
  let wire: Wire | undefined;
  let links: LinkCollector | undefined;
  let server: WeftServer | undefined;
  let client: WeftClient | undefined;

  afterAll(async () => {
    await client?.close();
    await server?.close();
    await links?.close();
    destroyAll();
  });

  it(`shows each of ${COUNT} new connections within 200 ms (p99), and deltas reproduce the snapshot`, async () => {
    wire = createWire(51);
    const defaults = toConfig(collectorCommand().parse(['node', 'weft-collector']).opts());
    expect(defaults.pollIntervalMs).toBe(100);
    links = await startLinkCollector({ pollIntervalMs: defaults.pollIntervalMs, onlyNetns: statSync(wire.a.path).ino });
    server = await startServer({ host: '127.0.0.1', port: 0, token: TOKEN, allowedOrigins: [], tables: { links, flows: new MemoryTable<FlowRecord>() }, health: {}, features: FEATURES, version: 't', node: 't', figuresIntervalMs: defaults.figuresIntervalMs });
    client = await WeftClient.connect({ server: server.wsUrl, token: TOKEN });
    const seenAt = new Map<number, number>();
    const view = new LiveView<LinkRecord>();
    let resyncAsked = false;
    let beforeResync: LinkRecord[] | undefined;
    client.onMessage((m) => {
      if (m.type !== 'snapshot' && m.type !== 'delta') return;
      // What the deltas add up to when the resync's snapshot arrives: every delta the server sent
      // before it has been applied by then (one socket keeps their order).
      if (m.type === 'snapshot' && resyncAsked && beforeResync === undefined) beforeResync = view.records();
      const now = Date.now();
      const applied = view.apply(m as SnapshotMessage<LinkRecord> | DeltaMessage<LinkRecord>);
      if (!applied.ok) throw new Error('seq gap');
      for (const r of applied.added) if (r.server.ip === wire!.bIp && r.server.port !== undefined && !seenAt.has(r.server.port)) seenAt.set(r.server.port, now);
    });
    const snap = client.next((m): m is SnapshotMessage => m.type === 'snapshot');
    client.subscribe('all', { table: 'links', filter: { name: wire.bIp } });
    await snap;

    const srv = wire.b.spawn(process.execPath, ['-e', serverScript(wire.bIp, BASE, COUNT)]);
    await new Promise<void>((resolve, reject) => {
      srv.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
      srv.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const connectedAt = new Map<number, number>();
    const cli = wire.a.spawn(process.execPath, ['-e', clientScript(wire.bIp, BASE, COUNT, 10)]);
    let buf = '';
    const done = new Promise<void>((resolve, reject) => {
      cli.stdout!.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'done') resolve();
          else if (line.startsWith('{')) {
            const { port, t } = JSON.parse(line) as { port: number; t: number };
            connectedAt.set(port, t);
          }
        }
      });
      cli.once('exit', (code) => code !== 0 && reject(new Error(`client exited ${code}`)));
    });
    try {
      await done;
      for (let i = 0; i < 50 && seenAt.size < COUNT; i++) await new Promise((r) => setTimeout(r, 100));
      expect(connectedAt.size).toBe(COUNT);
      expect(seenAt.size).toBe(COUNT);
      const lat = [...connectedAt].map(([port, t]) => seenAt.get(port)! - t).sort((a, b) => a - b);
      const p50 = lat[Math.floor(lat.length * 0.5)]!;
      const p99 = lat[Math.ceil(lat.length * 0.99) - 1]!;
      console.log(`freshness over ${COUNT} connections: p50 ${p50} ms, p99 ${p99} ms, max ${lat[lat.length - 1]} ms`);
      expect(p99).toBeLessThanOrEqual(200);

      await new Promise((r) => setTimeout(r, 300));
      const seqBefore = view.lastSeq;
      const fresh = client.next((m): m is SnapshotMessage<LinkRecord> => m.type === 'snapshot' && m.seq > seqBefore);
      resyncAsked = true;
      client.send({ type: 'resync', sub: 'all' });
      // Not the view as it was when the resync was sent: rates still move after the last connect, and
      // a figures delta the server sent meanwhile (its 2 s cadence) arrives before the snapshot that
      // already holds it.
      const snapshot = await fresh;
      expect(snapshot.records).toEqual(beforeResync);
      expect(beforeResync!.filter((r) => r.server.ip === wire!.bIp)).toHaveLength(COUNT);
    } finally {
      cli.kill();
      srv.kill();
    }
  });
});
