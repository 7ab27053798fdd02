// Bad input against a running collector: each gets a clear error and close code, and a client
// that behaves keeps being served throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, PROTOCOL_VERSION, type ErrorMessage, type TicketResponse } from '../../src/protocol/index.js';
import { WeftClient } from '../../src/cli/client.js';
import { link } from '../helpers/records.js';
import { bystander, type Bystander } from '../helpers/bystander.js';
import { TOKEN, rawSocket, startTestServer, type RawSocket, type TestServer } from '../helpers/server.js';

let t: TestServer;
let watcher: Bystander;

const auth = { authorization: `Bearer ${TOKEN}` };
const hello = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: 'test' });

async function refusedWith(s: RawSocket, code: string, closeCode: number, text: RegExp): Promise<void> {
  const err = (await s.next((m) => m.type === 'error')) as ErrorMessage;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(text);
  const closed = await s.closed;
  expect(closed.code).toBe(closeCode);
  expect(closed.reason).toContain(code);
}

async function greeted(headers: Record<string, string> = auth): Promise<RawSocket> {
  const s = rawSocket(t.server.wsUrl, headers);
  await s.next((m) => m.type === 'hello');
  s.ws.send(hello);
  return s;
}

async function ticket(origin: string): Promise<Response> {
  return fetch(`${t.server.httpUrl}/api/ticket`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ origin }) });
}


describe('collector protocol: bad input', () => {
  beforeAll(async () => {
    t = await startTestServer({ maxMessageBytes: 1024 });
    t.links.upsert([link(1)]);
    watcher = await bystander(t);
  });
  afterAll(async () => {
    await watcher?.client.close();
    await t?.server.close();
  });

  it('refuses a socket without credentials', async () => {
    await refusedWith(rawSocket(t.server.wsUrl), 'unauthorized', CloseCode.Unauthorized, /no credentials/);
    await watcher.stillServed(100);
  });

  it('refuses a wrong token and a malformed Authorization header', async () => {
    await refusedWith(rawSocket(t.server.wsUrl, { authorization: 'Bearer nope' }), 'unauthorized', CloseCode.Unauthorized, /wrong token/);
    await refusedWith(rawSocket(t.server.wsUrl, { authorization: 'Basic abc' }), 'unauthorized', CloseCode.Unauthorized, /not "Bearer TOKEN"/);
    await watcher.stillServed(101);
  });

  it('accepts a ticket once, from its own origin only, and refuses a reused one', async () => {
    const r = await ticket('https://grafana.test');
    expect(r.status).toBe(200);
    const { ticket: tk, expiresAt } = (await r.json()) as TicketResponse;
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
    const first = rawSocket(`${t.server.wsUrl}?ticket=${tk}`, { origin: 'https://grafana.test' });
    expect((await first.next((m) => m.type === 'hello')).type).toBe('hello');
    first.ws.close();
    await refusedWith(rawSocket(`${t.server.wsUrl}?ticket=${tk}`, { origin: 'https://grafana.test' }), 'bad-ticket', CloseCode.Unauthorized, /unknown or already used/);

    const other = (await (await ticket('https://grafana.test')).json()) as TicketResponse;
    await refusedWith(rawSocket(`${t.server.wsUrl}?ticket=${other.ticket}`), 'bad-ticket', CloseCode.Unauthorized, /issued for origin https:\/\/grafana.test/);
    await watcher.stillServed(102);
  });

  it('refuses an Origin not on the allowlist, for sockets and tickets', async () => {
    await refusedWith(rawSocket(t.server.wsUrl, { ...auth, origin: 'https://evil.test' }), 'forbidden-origin', CloseCode.ForbiddenOrigin, /https:\/\/evil.test is not allowed/);
    const r = await ticket('https://evil.test');
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('forbidden-origin');
    const noAuth = await fetch(`${t.server.httpUrl}/api/ticket`, { method: 'POST', body: '{"origin":"https://grafana.test"}' });
    expect(noAuth.status).toBe(401);
    await watcher.stillServed(103);
  });

  it('closes on malformed JSON', async () => {
    const s = await greeted();
    s.ws.send('{"type": "subscribe", ');
    await refusedWith(s, 'malformed', CloseCode.Malformed, /not JSON/);
    await watcher.stillServed(104);
  });

  it('closes on an unknown message type', async () => {
    const s = await greeted();
    s.ws.send(JSON.stringify({ type: 'explode' }));
    await refusedWith(s, 'unknown-type', CloseCode.Malformed, /unknown message type "explode"/);
    await watcher.stillServed(105);
  });

  it('closes on an oversized message, with a reason below the hard cap and a 1009 above it', async () => {
    const s = await greeted();
    s.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2000) }));
    await refusedWith(s, 'too-large', CloseCode.TooLarge, /over the 1024-byte limit/);
    const huge = await greeted();
    huge.ws.send('x'.repeat(100_000));
    expect((await huge.closed).code).toBe(CloseCode.TooLarge);
    await watcher.stillServed(106);
  });

  it('closes on a wrong protocol version, and on anything before hello', async () => {
    const s = rawSocket(t.server.wsUrl, auth);
    await s.next((m) => m.type === 'hello');
    s.ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION + 1, client: 'future' }));
    await refusedWith(s, 'protocol-version', CloseCode.ProtocolVersion, new RegExp(`speaks protocol ${PROTOCOL_VERSION}, client asked for ${PROTOCOL_VERSION + 1}`));
    const early = rawSocket(t.server.wsUrl, auth);
    await early.next((m) => m.type === 'hello');
    early.ws.send(JSON.stringify({ type: 'subscribe', sub: 'a', table: 'links' }));
    await refusedWith(early, 'malformed', CloseCode.Malformed, /first message must be hello/);
    await watcher.stillServed(107);
  });

  it('answers a bad request with an error and keeps the socket', async () => {
    const s = await greeted();
    s.ws.send(JSON.stringify({ type: 'subscribe', sub: 'x', table: 'packets' }));
    const err = (await s.next((m) => m.type === 'error')) as ErrorMessage;
    expect(err).toMatchObject({ code: 'bad-request', ref: 'x' });
    expect(err.message).toMatch(/"table" must be one of links, flows/);
    s.ws.send(JSON.stringify({ type: 'subscribe', sub: 'y', table: 'links', filter: { colour: 'red' } }));
    expect(((await s.next((m) => m.type === 'error' && m.ref === 'y')) as ErrorMessage).message).toMatch(/unknown filter "colour"/);
    s.ws.send(JSON.stringify({ type: 'ping', t: 7 }));
    expect(await s.next((m) => m.type === 'pong')).toEqual({ type: 'pong', t: 7 });
    s.ws.close();
    await watcher.stillServed(108);
  });

  it('closes a client that goes silent with 4408, and keeps one that answers pings', async () => {
    // A timeout well above the ping interval: server and clients share this process, and a stall
    // of a loaded machine must not look like silence from the client that answers.
    const quick = await startTestServer({ heartbeatMs: 100, heartbeatTimeoutMs: 1000 });
    try {
      const silent = rawSocket(quick.server.wsUrl, auth);
      await silent.next((m) => m.type === 'hello');
      silent.ws.send(hello);
      const talker = await WeftClient.connect({ server: quick.server.wsUrl, token: TOKEN });
      talker.onMessage((m) => m.type === 'ping' && talker.send({ type: 'pong', t: m.t }));
      await refusedWith(silent, 'heartbeat-timeout', CloseCode.HeartbeatTimeout, /nothing heard from the client for 1000 ms/);
      expect(silent.messages.filter((m) => m.type === 'ping').length).toBeGreaterThanOrEqual(3);
      await new Promise((r) => setTimeout(r, 1100));
      expect(talker.closeInfo).toBeUndefined();
      await talker.close();
    } finally {
      await quick.server.close();
    }
    await watcher.stillServed(110);
  });

  it('refuses HTTP requests without the token and answers unknown routes with 404', async () => {
    for (const path of ['/metrics', '/api/status', '/api/links']) {
      const r = await fetch(`${t.server.httpUrl}${path}`);
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/missing Authorization/);
    }
    expect((await fetch(`${t.server.httpUrl}/nope`)).status).toBe(404);
    const ws404 = await fetch(`${t.server.httpUrl}/api/links?from=abc`, { headers: auth });
    expect(ws404.status).toBe(400);
    await watcher.stillServed(109);
  });
});
