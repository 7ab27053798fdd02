// Snapshot then deltas: applying the deltas reproduces the next snapshot exactly; quiet tables
// send only heartbeats; topology goes out at once and figures at their cadence; one view is
// shared by clients with the same spec.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveView } from '../../src/cli/live-view.js';
import { shape } from '../../src/collector/tables/aggregate.js';
import { WeftClient } from '../../src/cli/client.js';
import type { DeltaMessage, LinkRecord, ServerMessage, SnapshotMessage, SubscriptionSpec } from '../../src/protocol/index.js';
import { link } from '../helpers/records.js';
import { TOKEN, rawSocket, sleep, startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer | undefined;
const clients: WeftClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await t?.server.close();
  t = undefined;
});

async function follow(spec: SubscriptionSpec, sub = 's'): Promise<{ client: WeftClient; view: LiveView<LinkRecord>; seen: ServerMessage[] }> {
  const client = await WeftClient.connect({ server: t!.server.wsUrl, token: TOKEN });
  clients.push(client);
  const view = new LiveView<LinkRecord>();
  const seen: ServerMessage[] = [];
  client.onMessage((m) => {
    seen.push(m);
    if ((m.type === 'snapshot' || m.type === 'delta') && m.sub === sub) {
      if (!view.apply(m as SnapshotMessage<LinkRecord> | DeltaMessage<LinkRecord>).ok) throw new Error(`seq gap at ${m.seq}`);
    }
  });
  const snap = client.next((m): m is SnapshotMessage => m.type === 'snapshot' && m.sub === sub);
  client.subscribe(sub, spec);
  await snap;
  return { client, view, seen };
}

async function freshSnapshot(client: WeftClient, sub = 's'): Promise<LinkRecord[]> {
  const snap = client.next((m): m is SnapshotMessage<LinkRecord> => m.type === 'snapshot' && m.sub === sub);
  client.send({ type: 'resync', sub });
  return (await snap).records as LinkRecord[];
}

/** A seeded random walk of the table: new links, gone links, moving counters. */
function churn(table: TestServer['links'], steps: number, seed: number): void {
  let s = seed;
  const rand = (n: number): number => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
  for (let i = 0; i < steps; i++) {
    const n = rand(60);
    const op = rand(10);
    const cur = table.get(link(n).id);
    if (op < 2) table.remove([link(n).id]);
    else if (!cur) table.upsert([link(n, { client: { ...link(n).client, namespace: `ns${n % 3}` } })]);
    else table.upsert([{ ...cur, bytesSent: cur.bytesSent + rand(5000), connections: { ...cur.connections, closed: cur.connections.closed + rand(2) }, rttMs: rand(100) / 10 }]);
  }
}

describe('collector protocol: snapshots and deltas', () => {
  it('deltas applied in order reproduce the next snapshot exactly, raw and aggregated', async () => {
    t = await startTestServer({ figuresIntervalMs: 20 });
    churn(t.links, 50, 1);
    const raw = await follow({ table: 'links' });
    const agg = await follow({ table: 'links', aggregate: 'namespace', top: 5 });
    for (let round = 0; round < 20; round++) {
      churn(t.links, 30, round + 2);
      await sleep(15);
    }
    // Caught up when each view shows the table as it now is (bounded: the last figures delta may
    // be late on a loaded machine); only then is a fresh snapshot the next one to compare with.
    const table = t.links;
    await vi.waitFor(() => expect(raw.view.records()).toEqual(table.records().map((r) => ({ ...r, client: { ...r.client, id: expect.any(String) }, server: { ...r.server, id: expect.any(String) } }))), { timeout: 5000, interval: 20 });
    await vi.waitFor(() => expect(agg.view.records()).toEqual(shape('links', table.records(), { aggregate: 'namespace', top: 5 })), { timeout: 5000, interval: 20 });
    const deltas = raw.seen.filter((m) => m.type === 'delta').length;
    expect(deltas).toBeGreaterThan(5);
    expect(raw.view.records()).toEqual(await freshSnapshot(raw.client));
    expect(agg.view.records().length).toBeLessThanOrEqual(5);
    expect(agg.view.records()).toEqual(await freshSnapshot(agg.client));
  });

  it('sends a view of many parts as one message, multi-byte and escaped text intact, and its deltas too', async () => {
    t = await startTestServer({ figuresIntervalMs: 20 });
    const named = (n: number, over: Partial<LinkRecord> = {}): LinkRecord => link(n, { client: { ip: `10.52.${n >> 8}.${n & 255}`, name: `café "${n}" 日本\\` }, ...over });
    t.links.upsert(Array.from({ length: 3000 }, (_, n) => named(n)));
    const { client, view, seen } = await follow({ table: 'links' });
    const table = t.links;
    const expected = (): LinkRecord[] => shape('links', table.records(), {}) as LinkRecord[];
    // About 1.7 MB: dozens of WebSocket fragments, one protocol message.
    expect(seen.filter((m) => m.type === 'snapshot')).toHaveLength(1);
    expect(view.records()).toEqual(expected());
    table.upsert(Array.from({ length: 1500 }, (_, n) => named(2 * n, { bytesSent: 7 })));
    table.remove([link(1).id, link(2999).id]);
    await vi.waitFor(() => expect(view.records()).toEqual(expected()), { timeout: 5000, interval: 20 });
    expect(seen.some((m) => m.type === 'delta' && m.upsert.length === 1500)).toBe(true);
    expect(view.records()).toEqual(await freshSnapshot(client));
  });

  it('sends nothing but heartbeats while nothing changes, even when the table reports figures', async () => {
    t = await startTestServer({ figuresIntervalMs: 50, heartbeatMs: 100 });
    t.links.upsert([link(1), link(2)]);
    const { seen } = await follow({ table: 'links' });
    const from = seen.length;
    // Same records again: the table says "figures", but nothing a client sees has changed.
    for (let i = 0; i < 5; i++) {
      t.links.upsert([link(1), link(2)]);
      await sleep(100);
    }
    await sleep(300);
    const after = seen.slice(from).map((m) => m.type);
    expect(after.length).toBeGreaterThanOrEqual(4);
    expect(new Set(after)).toEqual(new Set(['ping']));
  });

  it('pushes a new link at once but holds figure changes for the figures cadence', async () => {
    t = await startTestServer({ figuresIntervalMs: 60_000 });
    t.links.upsert([link(1)]);
    const { client, seen } = await follow({ table: 'links' });
    t.links.upsert([{ ...link(1), bytesSent: 999_999 }]);
    await sleep(300);
    expect(seen.filter((m) => m.type === 'delta')).toHaveLength(0);
    const d = client.next((m): m is DeltaMessage<LinkRecord> => m.type === 'delta');
    t.links.upsert([link(2)]);
    const delta = await d;
    // The topology flush carries whatever else changed too.
    expect(delta.upsert.map((r) => [r.id, r.bytesSent])).toEqual([
      ['l000001', 999_999],
      ['l000002', 200],
    ]);
    expect(delta.remove).toEqual([]);
    const gone = client.next((m): m is DeltaMessage<LinkRecord> => m.type === 'delta' && m.remove.length > 0);
    t.links.remove(['l000001']);
    expect((await gone).remove).toEqual(['l000001']);
  });

  it('answers queries from the history window and distinct values for template variables', async () => {
    const { History } = await import('../../src/collector/tables/history.js');
    const { linkFigures, flowFigures } = await import('../../src/collector/tables/history-figures.js');
    const t0 = Date.now() - 60_000;
    const history = { links: new History(linkFigures, {}, t0), flows: new History(flowFigures, {}, t0) };
    t = await startTestServer({ history });
    const a = link(1, { client: { ip: '10.51.0.1', namespace: 'shop', pod: 'cart-1' }, bytesSent: 10, bytesReceived: 20 });
    t.links.upsert([a, link(2, { server: { ip: '10.51.0.9', port: 80, namespace: 'web' } })]);
    history.links.sample(t.links.records(), t0 + 10_000);
    t.links.upsert([{ ...a, bytesSent: 15, bytesReceived: 120 }]);
    history.links.sample(t.links.records(), t0 + 20_000);
    const client = await WeftClient.connect({ server: t.server.wsUrl, token: TOKEN });
    clients.push(client);
    const r = await client.query('q', { table: 'links', filter: { namespace: 'shop' } }, t0 + 10_000, t0 + 20_000);
    expect(r.records.map((x) => ['bytesSent' in x ? [x.id, x.bytesSent, x.bytesReceived] : []])).toEqual([[['l000001', 5, 100]]]);
    expect([r.from, r.to]).toEqual([t0 + 10_000, t0 + 20_000]);
    const values = client.next((m): m is Extract<ServerMessage, { type: 'values' }> => m.type === 'values' && m.id === 'v');
    client.send({ type: 'values', id: 'v', field: 'namespace' });
    expect((await values).values).toEqual(['shop', 'web']);
    const missing = client.next((m): m is ServerMessage => m.type === 'error' && m.ref === 'nope');
    client.send({ type: 'resync', sub: 'nope' });
    expect(await missing).toMatchObject({ type: 'error', code: 'not-found', message: 'no subscription "nope"' });
  });

  it('keeps serving when a table hands over a record a view cannot use, and reports it on /healthz', async () => {
    t = await startTestServer({ figuresIntervalMs: 20 });
    t.links.upsert([link(1)]);
    const flows = await follow({ table: 'links', filter: { protocol: 'udp' } }, 'udp');
    const byPod = await follow({ table: 'links', aggregate: 'pod' }, 'pods');
    // No client endpoint: the pod view cannot place it; the udp filter drops it before looking.
    t.links.upsert([{ ...link(2), client: undefined } as unknown as LinkRecord]);
    t.links.upsert([link(3, { protocol: 'udp' })]);
    await flows.client.next((m): m is DeltaMessage => m.type === 'delta' && m.sub === 'udp');
    expect(flows.view.records().map((r) => r.id)).toEqual(['l000003']);
    const h = (await (await fetch(`${t.server.httpUrl}/healthz`)).json()) as { viewErrors: string[] };
    expect(h.viewErrors.length).toBeGreaterThan(0);
    expect(h.viewErrors[0]).toMatch(/view .*pod/);
    expect(byPod.client.closeInfo).toBeUndefined();
  });

  it('serialises one view for every client with the same spec', async () => {
    t = await startTestServer({ figuresIntervalMs: 20 });
    t.links.upsert([link(1)]);
    const spec = { type: 'subscribe', table: 'links', filter: { port: 8080, protocol: 'tcp' } };
    const sockets = [rawSocket(t.server.wsUrl, { authorization: `Bearer ${TOKEN}` }), rawSocket(t.server.wsUrl, { authorization: `Bearer ${TOKEN}` })];
    const rawText: string[][] = [[], []];
    sockets.forEach((s, i) => s.ws.on('message', (d) => rawText[i]!.push(String(d))));
    for (const [i, s] of sockets.entries()) {
      await s.next((m) => m.type === 'hello');
      s.ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 't' }));
      // Filter keys in another order: still the same spec.
      s.ws.send(JSON.stringify(i === 0 ? { ...spec, sub: 'a' } : { type: 'subscribe', sub: 'b', filter: { protocol: 'tcp', port: 8080 }, table: 'links' }));
      await s.next((m) => m.type === 'snapshot');
    }
    const metrics = await (await fetch(`${t.server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/weft_subscriptions\{kind="views"\} 1\b/);
    expect(metrics).toMatch(/weft_subscriptions\{kind="subscriptions"\} 2\b/);
    t.links.upsert([link(2)]);
    await Promise.all(sockets.map((s) => s.next((m) => m.type === 'delta')));
    const tail = (texts: string[]): string => texts.find((x) => x.startsWith('{"type":"delta"'))!.replace(/^.*?"seq":\d+,/, '');
    expect(tail(rawText[0]!)).toBe(tail(rawText[1]!));
    sockets.forEach((s) => s.ws.close());
  });
});
