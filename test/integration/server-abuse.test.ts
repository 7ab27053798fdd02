// Input an attacker or a broken client sends a running collector: each gets a clear error or
// close code, the collector holds no more than its bounds, and a client that behaves is still served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, PROTOCOL_VERSION, type ErrorMessage, type ServerMessage } from '../../src/protocol/index.js';
import { WeftClient } from '../../src/cli/client.js';
import { link } from '../helpers/records.js';
import { TOKEN, rawSocket, startTestServer, type RawSocket, type TestServer } from '../helpers/server.js';

let t: TestServer;
let bystander: WeftClient;

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

/** The bystander still gets pushed a new link, proving the collector keeps serving. */
async function bystanderStillServed(n: number): Promise<void> {
  t.links.upsert([link(n)]);
  await bystander.next((m): m is ServerMessage => m.type === 'delta' && m.upsert.some((r) => r.id === link(n).id));
  expect(bystander.closeInfo).toBeUndefined();
}

describe('collector: hostile and broken clients', () => {
  beforeAll(async () => {
    t = await startTestServer();
    bystander = await WeftClient.connect({ server: t.server.wsUrl, token: TOKEN });
    const snap = bystander.next((m): m is ServerMessage => m.type === 'snapshot');
    bystander.subscribe('all', { table: 'links' });
    await snap;
  });
  afterAll(async () => {
    await bystander?.close();
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
    await bystanderStillServed(200);
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
    await bystanderStillServed(201);
  });

  it('bounds subscriptions per socket, and still lets a client replace one of them at the bound', async () => {
    const s = await greeted();
    for (let i = 0; i < 32; i++) s.ws.send(JSON.stringify({ type: 'subscribe', sub: `s${i}`, table: 'links', top: i + 1 }));
    await s.next((m) => m.type === 'snapshot' && m.sub === 's31');
    s.ws.send(JSON.stringify({ type: 'subscribe', sub: 's32', table: 'links' }));
    const over = (await s.next((m) => m.type === 'error')) as ErrorMessage;
    expect(over).toMatchObject({ code: 'bad-request', ref: 's32' });
    expect(over.message).toMatch(/at most 32 subscriptions per socket/);
    s.ws.send(JSON.stringify({ type: 'subscribe', sub: 's0', table: 'flows' }));
    const replaced = await s.next((m) => m.type === 'snapshot' && m.sub === 's0' && m.table === 'flows');
    expect(replaced).toMatchObject({ seq: 1 });
    expect(s.messages.filter((m) => m.type === 'error')).toHaveLength(1);
    s.ws.close();
    await bystanderStillServed(202);
  });
});
