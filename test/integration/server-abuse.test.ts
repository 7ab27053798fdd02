// Input an attacker or a broken client sends a running collector: each gets a clear error or
// close code, the collector holds no more than its bounds, and a client that behaves is still served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { CloseCode, PROTOCOL_VERSION, type ErrorMessage } from '../../src/protocol/index.js';
import { SERVER_DEFAULTS } from '../../src/collector/server/server.js';
import { link } from '../helpers/records.js';
import { bystander, type Bystander } from '../helpers/bystander.js';
import { TOKEN, rawSocket, sleep, startTestServer, type RawSocket, type TestServer } from '../helpers/server.js';

let t: TestServer;
let watcher: Bystander;

const auth = { authorization: `Bearer ${TOKEN}` };
const hello = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'test' });

async function greeted(): Promise<RawSocket> {
  const s = rawSocket(t.server.wsUrl, auth);
  await s.next((m) => m.type === 'hello');
  s.ws.send(hello);
  return s;
}

async function closedWith(s: RawSocket, code: string, closeCode: number): Promise<{ code: number; reason: string }> {
  expect(((await s.next((m) => m.type === 'error')) as ErrorMessage).code).toBe(code);
  const closed = await s.closed;
  expect(closed.code).toBe(closeCode);
  return closed;
}


describe('collector: hostile and broken clients', () => {
  beforeAll(async () => {
    t = await startTestServer();
    watcher = await bystander(t);
  });
  afterAll(async () => {
    await watcher?.client.close();
    await t?.server.close();
  });

  it('closes with a reason cut between characters, however the message text falls', async () => {
    // Without credentials: the reason names this Origin (Latin-1 on the wire, 2 bytes each in
    // UTF-8), and 51 letters put the 123-byte cut inside one of them.
    const origin = `https://${'a'.repeat(51)}${'é'.repeat(40)}`;
    const refused = await closedWith(rawSocket(t.server.wsUrl, { origin }), 'forbidden-origin', CloseCode.ForbiddenOrigin);
    expect(Buffer.byteLength(refused.reason)).toBeLessThanOrEqual(123);
    expect(refused.reason).toMatch(/^forbidden-origin: origin https:\/\/a+é+$/);
    const s = await greeted();
    s.ws.send(JSON.stringify({ type: `a${'€'.repeat(39)}` }));
    const unknown = await closedWith(s, 'unknown-type', CloseCode.Malformed);
    expect(unknown.reason).toMatch(/^unknown-type: unknown message type "a€+$/);
    await watcher.stillServed(200);
  });

  it('closes a socket whose first message is a bad hello or a bad request, as for any other before hello', async () => {
    for (const [first, text] of [
      [{ type: 'hello', protocol: String(PROTOCOL_VERSION) }, /hello: "protocol" must be an integer/],
      [{ type: 'hello' }, /hello: "protocol" must be an integer/],
      [{ type: 'subscribe', sub: 's', table: 'packets' }, /subscribe: "table" must be one of/],
      [{ type: 'unsubscribe' }, /unsubscribe: "sub" must be a string/],
    ] as const) {
      const s = rawSocket(t.server.wsUrl, auth);
      await s.next((m) => m.type === 'hello');
      s.ws.send(JSON.stringify(first));
      const err = (await s.next((m) => m.type === 'error')) as ErrorMessage;
      expect(err).toMatchObject({ code: 'malformed' });
      expect(err.message).toMatch(text);
      expect((await s.closed).code).toBe(CloseCode.Malformed);
    }
    await watcher.stillServed(201);
  });

  it('bounds subscriptions per socket, and still lets a client replace one of them at the bound', async () => {
    const s = await greeted();
    const bound = SERVER_DEFAULTS.maxSubscriptions;
    for (let i = 0; i < bound; i++) s.ws.send(JSON.stringify({ type: 'subscribe', sub: `s${i}`, table: 'links', top: i + 1 }));
    await s.next((m) => m.type === 'snapshot' && m.sub === `s${bound - 1}`);
    s.ws.send(JSON.stringify({ type: 'subscribe', sub: `s${bound}`, table: 'links' }));
    const over = (await s.next((m) => m.type === 'error')) as ErrorMessage;
    expect(over).toMatchObject({ code: 'bad-request', ref: `s${bound}` });
    expect(over.message).toBe(`at most ${bound} subscriptions per socket`);
    s.ws.send(JSON.stringify({ type: 'subscribe', sub: 's0', table: 'flows' }));
    const replaced = await s.next((m) => m.type === 'snapshot' && m.sub === 's0' && m.table === 'flows');
    expect(replaced).toMatchObject({ seq: 1 });
    expect(s.messages.filter((m) => m.type === 'error')).toHaveLength(1);
    s.ws.close();
    await watcher.stillServed(202);
  });

  /** A greeted socket that stops reading and then asks `n` values requests, over 2,000 pods: each answer is about 50 KB, for a request of 40 bytes. */
  async function askWithoutReading(small: TestServer, n: number): Promise<RawSocket> {
    small.links.upsert(Array.from({ length: 2000 }, (_, i) => link(i + 1, { client: { ip: '10.51.0.1', pod: `pod-with-a-longish-name-${i}` } })));
    const s = rawSocket(small.server.wsUrl, auth);
    await s.next((m) => m.type === 'hello');
    s.ws.send(hello);
    s.ws.pause();
    for (let i = 0; i < n; i++) s.ws.send(JSON.stringify({ type: 'values', id: `v${i}`, field: 'pod' }));
    return s;
  }

  it('stops reading a client that asks without reading the answers, then answers every request once it reads', async () => {
    const bound = 256 * 1024;
    const small = await startTestServer({ maxBufferedBytes: bound });
    try {
      const n = 400;
      const s = await askWithoutReading(small, n);
      // Without a bound the collector would hold most of 20 MB for this client.
      let most = 0;
      for (let i = 0; i < 10; i++) {
        await sleep(100);
        const h = (await (await fetch(`${small.server.httpUrl}/healthz`)).json()) as { clientBuffers: { max: number } };
        most = Math.max(most, h.clientBuffers.max);
      }
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThan(bound + 100 * 1024);
      s.ws.resume();
      await s.next((m) => m.type === 'values' && m.id === `v${n - 1}`, 20_000);
      const ids = s.messages.flatMap((m) => (m.type === 'values' ? [m.id] : []));
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => `v${i}`));
      expect(s.messages.find((m) => m.type === 'values')).toMatchObject({ values: expect.arrayContaining(['pod-with-a-longish-name-1999']) });
      s.ws.close();
    } finally {
      await small.server.close();
    }
    await watcher.stillServed(203);
  });

  it('closes a client that stops reading for the heartbeat timeout, though its pongs are not read meanwhile', async () => {
    const small = await startTestServer({ maxBufferedBytes: 256 * 1024, heartbeatMs: 200, heartbeatTimeoutMs: 600 });
    try {
      const sent = Date.now();
      const s = await askWithoutReading(small, 100);
      const clients = async (): Promise<number> => ((await (await fetch(`${small.server.httpUrl}/healthz`)).json()) as { clients: number }).clients;
      let left = 1;
      for (let i = 0; i < 50 && left > 0; i++) {
        await sleep(100);
        left = await clients();
      }
      expect(left).toBe(0);
      // Not for stopping to read: only once the timeout has passed since the client was last heard.
      expect(Date.now() - sent).toBeGreaterThanOrEqual(600);
      s.ws.terminate();
    } finally {
      await small.server.close();
    }
  });

  it('answers a ticket request whose body is too large with 413, however large', async () => {
    for (const size of [5000, 2_000_000]) {
      const r = await fetch(`${t.server.httpUrl}/api/ticket`, { method: 'POST', headers: auth, body: JSON.stringify({ origin: 'https://grafana.test', pad: 'x'.repeat(size) }) });
      expect(r.status).toBe(413);
      expect(await r.json()).toEqual({ error: { code: 'too-large', message: 'body is over 4096 bytes' } });
    }
    const ok = await fetch(`${t.server.httpUrl}/api/ticket`, { method: 'POST', headers: auth, body: JSON.stringify({ origin: 'https://grafana.test' }) });
    expect(ok.status).toBe(200);
    await watcher.stillServed(204);
  });

  it('answers a request that is not HTTP, or whose headers are too large, before closing', async () => {
    const answer = (request: string): Promise<string> =>
      new Promise((resolve) => {
        const c = connect(t.server.port, '127.0.0.1');
        let got = '';
        c.on('data', (d) => (got += d));
        c.on('error', () => undefined);
        c.on('close', () => resolve(got));
        c.write(request);
      });
    expect(await answer('HELLO\r\n\r\n')).toMatch(/^HTTP\/1.1 400 /);
    expect(await answer(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1.1 431 /);
    expect(await answer(`POST /api/ticket HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer ${TOKEN}\r\n\r\nzz\r\n`)).toMatch(/^HTTP\/1.1 400 /);
    await watcher.stillServed(205);
  });

  it('refuses a history range over HTTP whose times are not numbers, empty ones included', async () => {
    const get = (q: string): Promise<Response> => fetch(`${t.server.httpUrl}/api/links?${q}`, { headers: auth });
    for (const q of ['from=&to=', 'from=', `from=&to=${Date.now()}`, 'from=0x10&to=0x20', 'from=%205&to=6', 'from=abc', 'from=1&to=']) {
      const r = await get(q);
      expect(r.status, q).toBe(400);
      expect(await r.json(), q).toEqual({ error: { code: 'bad-request', message: '"from" and "to" must be epoch milliseconds' } });
    }
    for (const q of [`from=${Date.now() - 60_000}`, `from=1.7e12&to=${Date.now()}`, 'from=-5&to=6']) expect((await get(q)).status, q).toBe(200);
    await watcher.stillServed(206);
  });

  it('answers pipelined HTTP requests one at a time, so a client that does not read holds one answer', async () => {
    const small = await startTestServer();
    try {
      small.links.upsert(Array.from({ length: 1000 }, (_, i) => link(i + 1)));
      // The real table, counted: each answer to GET /api/links reads it once.
      let answered = 0;
      const records = small.links.records.bind(small.links);
      small.links.records = () => (answered++, records());
      const c = connect(small.server.port, '127.0.0.1');
      c.pause();
      const n = 100;
      c.write(`GET /api/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`.repeat(n));
      await sleep(1000);
      // About 400 KB each: the socket buffers take a few before the client reads; 100 would be 40 MB.
      expect(answered).toBeGreaterThan(0);
      expect(answered).toBeLessThan(30);
      // Once it reads, every answer comes (a status line split between two reads is counted once).
      await new Promise<void>((resolve) => {
        let count = 0;
        let tail = '';
        c.on('data', (d: Buffer) => {
          const seen = tail + d.toString('latin1');
          count += seen.split('HTTP/1.1 200 OK').length - 1;
          tail = seen.slice(-14);
          if (count === n) resolve();
        });
        c.resume();
      });
      expect(answered).toBe(n);
      c.destroy();
    } finally {
      await small.server.close();
    }
    await watcher.stillServed(207);
  });
});
