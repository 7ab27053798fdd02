// A client that stops reading: the collector stops queueing deltas for it once its socket buffer
// passes the bound, so memory held for it stays bounded; when it reads again it gets a snapshot.
import { afterAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { LiveView } from '../../src/cli/live-view.js';
import { WeftClient } from '../../src/cli/client.js';
import type { DeltaMessage, LinkRecord, ServerMessage, SnapshotMessage } from '../../src/protocol/index.js';
import { link } from '../helpers/records.js';
import { TOKEN, sleep, startTestServer, type TestServer } from '../helpers/server.js';

const BOUND = 256 * 1024;
let t: TestServer | undefined;
let client: WeftClient | undefined;

afterAll(async () => {
  await client?.close();
  await t?.server.close();
});

async function health(): Promise<{ clientBuffers: { max: number } }> {
  return (await fetch(`${t!.server.httpUrl}/healthz`)).json() as Promise<{ clientBuffers: { max: number } }>;
}

describe('collector protocol: a client that stops reading', () => {
  it('is held to a bounded buffer, then gets a snapshot when it reads again', async () => {
    t = await startTestServer({ figuresIntervalMs: 20, maxBufferedBytes: BOUND });
    const N = 3000;
    let records = Array.from({ length: N }, (_, i) => link(i));
    t.links.upsert(records);
    client = await WeftClient.connect({ server: t.server.wsUrl, token: TOKEN });
    const view = new LiveView<LinkRecord>();
    const seen: ServerMessage[] = [];
    let largest = 0;
    client.ws.on('message', (d) => (largest = Math.max(largest, String(d).length)));
    client.onMessage((m) => {
      seen.push(m);
      if (m.type === 'snapshot' || m.type === 'delta') view.apply(m as SnapshotMessage<LinkRecord> | DeltaMessage<LinkRecord>);
    });
    const first = client.next((m): m is SnapshotMessage => m.type === 'snapshot');
    client.subscribe('all', { table: 'links' });
    await first;

    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    let maxBuffered = 0;
    for (let round = 1; round <= 40; round++) {
      records = records.map((r) => ({ ...r, bytesSent: r.bytesSent + round }));
      t.links.upsert(records);
      await sleep(30);
      maxBuffered = Math.max(maxBuffered, (await health()).clientBuffers.max);
    }
    const metrics = await (await fetch(`${t.server.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const fell = Number(/weft_clients_fell_behind_total (\d+)/.exec(metrics)?.[1]);
    expect(fell).toBeGreaterThanOrEqual(1);
    // 40 deltas of ~1.5 MB each were due; what waits for the client stays within the bound plus
    // its last snapshot plus the message that crossed the bound.
    const oneDelta = JSON.stringify(records).length;
    expect(maxBuffered).toBeGreaterThan(BOUND);
    expect(maxBuffered).toBeLessThanOrEqual(BOUND + 3 * largest);
    expect(maxBuffered).toBeLessThan((40 * oneDelta) / 4);

    const countBefore = seen.length;
    socket.resume();
    const snap = (await client.next((m): m is SnapshotMessage<LinkRecord> => m.type === 'snapshot' && seen.indexOf(m) >= countBefore, undefined, 15_000)) as SnapshotMessage<LinkRecord>;
    expect(snap.records.find((r) => r.id === link(0).id)!.bytesSent).toBe(records[0]!.bytesSent);
    // Reading again, it is back on deltas, though its snapshot alone is bigger than the bound.
    expect(JSON.stringify(snap).length).toBeGreaterThan(BOUND);
    await sleep(200);
    const next = client.next((m): m is DeltaMessage<LinkRecord> => m.type === 'delta' || m.type === 'snapshot', undefined, 5000);
    records = records.map((r) => ({ ...r, bytesSent: r.bytesSent + 1 }));
    t.links.upsert(records);
    expect((await next).type).toBe('delta');
    await sleep(200);
    const seqBefore = view.lastSeq;
    const resync = client.next((m): m is SnapshotMessage<LinkRecord> => m.type === 'snapshot' && m.seq > seqBefore);
    client.send({ type: 'resync', sub: 'all' });
    expect(view.records()).toEqual((await resync).records);
    // What waited in the socket was written from parts the server built nothing else into meanwhile.
    expect(seen.filter((m) => m.type === 'error')).toEqual([]);
    expect(client.closeInfo).toBeUndefined();
  });
});
