// The transport's recovery paths, which a healthy collector rarely takes: a sequence gap (answered
// with resync), a dropped socket (reconnect with backoff, subscribe again), a refused token (stop
// and say so). The peer is a scripted WebSocket server speaking the documented messages.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket as PeerSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { CloseCode, PROTOCOL_VERSION, type ClientMessage, type LinkRecord } from '../../src/protocol/index.js';
import { CollectorConnection, type TableState } from '../../src/plugin/transport/index.js';
import { backoffDelay } from '../../src/plugin/transport/backoff.js';
import { UNREACHABLE } from '../../src/plugin/transport/errors.js';
import { probeSocket } from '../../src/plugin/transport/probe.js';
import { directWebSocketUrl, proxyWebSocketUrl } from '../../src/plugin/transport/urls.js';

const hello = { type: 'hello', protocol: PROTOCOL_VERSION, server: { name: 'weft-collector', version: '0.1.0', node: 'n' }, features: {}, tables: { links: 0, flows: 0 }, heartbeatMs: 15000 };
const rec = (id: string, bytesSent: number) => ({ id, bytesSent }) as unknown as LinkRecord;

let wss: WebSocketServer | undefined;
afterEach(() => new Promise<void>((ok) => (wss ? wss.close(() => ok()) : ok())));

async function peer(onSocket: (ws: PeerSocket, received: ClientMessage[], n: number) => void): Promise<string> {
  let n = 0;
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    const received: ClientMessage[] = [];
    const count = ++n;
    ws.on('message', (d) => {
      received.push(JSON.parse(String(d)));
      onSocket(ws, received, count);
    });
    ws.send(JSON.stringify(hello));
  });
  await new Promise((ok) => wss!.once('listening', ok));
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
}

async function until<T>(f: () => T | undefined, ms = 4000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) {
      return v;
    }
    if (Date.now() > end) {
      throw new Error('timed out');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('CollectorConnection', () => {
  it('asks for a resync on a sequence gap and ignores deltas until the new snapshot', async () => {
    const seen: ClientMessage[] = [];
    const url = await peer((ws, received) => {
      const m = received[received.length - 1]!;
      seen.push(m);
      const send = (x: object) => ws.send(JSON.stringify(x));
      if (m.type === 'subscribe') {
        send({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records: [rec('a', 1)], time: 1 });
        send({ type: 'delta', sub: m.sub, seq: 2, table: 'links', upsert: [rec('b', 2)], remove: [], time: 2 });
        // seq 3 is lost on the way: 4 arrives.
        send({ type: 'delta', sub: m.sub, seq: 4, table: 'links', upsert: [rec('c', 3)], remove: [], time: 4 });
        send({ type: 'delta', sub: m.sub, seq: 5, table: 'links', upsert: [rec('d', 4)], remove: [], time: 5 });
      }
      if (m.type === 'resync') {
        send({ type: 'snapshot', sub: m.sub, seq: 6, table: 'links', records: [rec('a', 1), rec('c', 3), rec('d', 4)], time: 6 });
      }
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't' });
    const states: TableState[] = [];
    const sub = conn.subscribe({ table: 'links' }).subscribe((s) => states.push(s));
    await until(() => states.length >= 3);
    sub.unsubscribe();
    expect(seen.map((m) => m.type)).toEqual(['hello', 'subscribe', 'resync']);
    expect(states.map((s) => [s.seq, s.records.map((r) => r.id)])).toEqual([
      [1, ['a']],
      [2, ['a', 'b']],
      [6, ['a', 'c', 'd']],
    ]);
  });

  it('reconnects after a drop and subscribes again; closing the last subscriber closes the socket', async () => {
    const url = await peer((ws, received, n) => {
      const m = received[received.length - 1]!;
      if (m.type === 'subscribe') {
        ws.send(JSON.stringify({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records: [rec(`from-socket-${n}`, 1)], time: 1 }));
        // The first socket dies without a close frame.
        if (n === 1) {
          setTimeout(() => ws.terminate(), 50);
        }
      }
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 50, maxMs: 200 } });
    const states: TableState[] = [];
    const sub = conn.subscribe({ table: 'links' }).subscribe((s) => states.push(s));
    await until(() => states.length >= 3);
    // In between, subscribers hear that the socket is down, with the last records known.
    expect(states.map((s) => [s.records[0]!.id, s.problem])).toEqual([
      ['from-socket-1', undefined],
      ['from-socket-1', 'The connection to the collector was lost. Reconnecting…'],
      ['from-socket-2', undefined],
    ]);
    sub.unsubscribe();
    expect(conn.isOpen).toBe(false);
    await until(() => wss!.clients.size === 0);
  });

  it('tells a subscriber that joins while the socket waits to reconnect why at once, not after the wait', async () => {
    const url = await peer(() => {});
    await new Promise<void>((ok) => wss!.close(() => ok()));
    wss = undefined;
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 4000, maxMs: 4000 } });
    const first: TableState[] = [];
    const a = conn.subscribe({ table: 'links' }).subscribe((s) => first.push(s));
    await until(() => first.length >= 1);
    const second: TableState[] = [];
    const b = conn.subscribe({ table: 'flows' }).subscribe((s) => second.push(s));
    await new Promise((r) => setTimeout(r, 200));
    a.unsubscribe();
    b.unsubscribe();
    expect(first.map((s) => s.problem)).toEqual([`${UNREACHABLE} Reconnecting…`]);
    expect(second.map((s) => [s.table, s.records, s.problem])).toEqual([['flows', [], `${UNREACHABLE} Reconnecting…`]]);
  });

  it('treats a message that is JSON but not an object as a broken socket, not an exception', async () => {
    const url = await peer((ws, received) => {
      const m = received[received.length - 1]!;
      if (m.type === 'subscribe') {
        ws.send(JSON.stringify({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records: [rec('a', 1)], time: 1 }));
        ws.send('null');
      }
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 5000, maxMs: 5000 } });
    const states: TableState[] = [];
    const sub = conn.subscribe({ table: 'links' }).subscribe((s) => states.push(s));
    await until(() => states.length >= 2);
    expect(states.map((s) => [s.records[0]!.id, s.problem])).toEqual([
      ['a', undefined],
      ['a', 'The collector sent something that is not JSON. Reconnecting…'],
    ]);
    sub.unsubscribe();
    expect(conn.isOpen).toBe(false);
  });

  it('says which message was malformed instead of throwing, and recovers when the collector sends whole ones', async () => {
    const url = await peer((ws, received, n) => {
      const m = received[received.length - 1]!;
      if (m.type === 'subscribe') {
        const records = n === 1 ? null : [rec('a', 1)];
        ws.send(JSON.stringify({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records, time: 1 }));
        if (n === 2) {
          ws.send(JSON.stringify({ type: 'delta', sub: m.sub, seq: 2, table: 'links', upsert: [null], remove: [], time: 2 }));
        }
      }
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 50, maxMs: 50 } });
    const states: TableState[] = [];
    const sub = conn.subscribe({ table: 'links' }).subscribe((s) => states.push(s));
    await until(() => states.length >= 4);
    sub.unsubscribe();
    expect(states.slice(0, 4).map((s) => [s.records.map((r) => r.id), s.problem])).toEqual([
      [[], 'The collector sent a malformed snapshot message: "records" is not a list. Reconnecting…'],
      [['a'], undefined],
      [['a'], 'The collector sent a malformed delta message: upsert[0] is not a record with a string "id". Reconnecting…'],
      [['a'], undefined],
    ]);
  });

  it('backs off between reconnects to a collector that greets and then sends only malformed snapshots', async () => {
    let sockets = 0;
    const url = await peer((ws, received) => {
      const m = received[received.length - 1]!;
      if (m.type === 'subscribe') {
        ws.send(JSON.stringify({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records: null, time: 1 }));
      }
    });
    wss!.on('connection', () => (sockets += 1));
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 100, maxMs: 10_000 } });
    const sub = conn.subscribe({ table: 'links' }).subscribe(() => {});
    await new Promise((r) => setTimeout(r, 2000));
    sub.unsubscribe();
    // Delays of 50-100, 100-200, 200-400, 400-800 and 800-1600 ms fit at most 6 sockets into 2 s;
    // starting again from the first delay after every hello gives 20 or more.
    expect(sockets).toBeGreaterThanOrEqual(3);
    expect(sockets).toBeLessThanOrEqual(6);
  });

  it('gives up on a socket that opens but never says hello, says so, and tries again', async () => {
    const url = await peer(() => {});
    let sockets = 0;
    wss!.removeAllListeners('connection');
    wss!.on('connection', (ws) => {
      sockets += 1;
      // The second socket is a collector that works.
      if (sockets === 2) {
        ws.on('message', (d) => {
          const m = JSON.parse(String(d)) as ClientMessage;
          if (m.type === 'subscribe') ws.send(JSON.stringify({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records: [rec('a', 1)], time: 1 }));
        });
        ws.send(JSON.stringify(hello));
      }
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 50, maxMs: 50 }, helloTimeoutMs: 300 });
    const states: TableState[] = [];
    const sub = conn.subscribe({ table: 'links' }).subscribe((s) => states.push(s));
    await until(() => states.length >= 2);
    sub.unsubscribe();
    expect(states.map((s) => [s.records.map((r) => r.id), s.problem])).toEqual([
      [[], 'The collector took the connection but did not say hello within 0.3 s. Reconnecting…'],
      [['a'], undefined],
    ]);
  });

  it('does not ping flat out when the hello has no heartbeat: the hello is malformed', async () => {
    const pings: number[] = [];
    const url = await peer(() => {});
    const { heartbeatMs: _gone, ...noHeartbeat } = hello;
    wss!.removeAllListeners('connection');
    wss!.on('connection', (ws) => {
      ws.on('message', (d) => JSON.parse(String(d)).type === 'ping' && pings.push(Date.now()));
      ws.send(JSON.stringify(noHeartbeat));
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 5000, maxMs: 5000 } });
    const states: TableState[] = [];
    const sub = conn.subscribe({ table: 'links' }).subscribe((s) => states.push(s));
    await until(() => states.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    sub.unsubscribe();
    expect(states.map((s) => s.problem)).toEqual(['The collector sent a malformed hello message: "heartbeatMs" is not a usable interval. Reconnecting…']);
    expect(pings).toEqual([]);
  });

  it('fails the subscription with the browser\'s reason when it refuses the URL, rather than loading for ever', async () => {
    const conn = new CollectorConnection({ url: async () => 'ws://127.0.0.1:1/ws?ticket=T#x', clientName: 't' });
    const err = await new Promise<Error>((ok) => conn.subscribe({ table: 'links' }).subscribe({ error: ok }));
    expect(err.message).toMatch(/^The browser cannot open a WebSocket to ws:\/\/127\.0\.0\.1:1\/ws: .*fragment/);
    expect(err.message).not.toContain('ticket');
    expect(conn.isOpen).toBe(false);
  });

  it('Save & test answers, instead of waiting forever, when the first message is JSON but not a message', async () => {
    const url = await peer(() => {});
    wss!.removeAllListeners('connection');
    wss!.on('connection', (ws) => ws.send('null'));
    await expect(probeSocket(url)).rejects.toThrow('The collector sent something that is not JSON.');
  });

  it('stops and says why when the collector refuses the token', async () => {
    const url = await peer(() => {});
    wss!.removeAllListeners('connection');
    wss!.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'error', code: 'unauthorized', message: 'bad token' }));
      ws.close(CloseCode.Unauthorized, 'unauthorized');
    });
    const conn = new CollectorConnection({ url: async () => url, clientName: 't', backoff: { baseMs: 10, maxMs: 10 } });
    const err = await new Promise<Error>((ok) => conn.subscribe({ table: 'links' }).subscribe({ error: ok }));
    expect(err.message).toBe('The collector refused the token (bad token): set the same token in the data source as the collector was started with.');
    expect(conn.isOpen).toBe(false);
  });
});

describe('transport URLs and backoff', () => {
  it('turns the proxy path into a ws(s) URL on the page origin', () => {
    expect(proxyWebSocketUrl('/api/datasources/proxy/uid/abc', 'https://grafana.example')).toBe('wss://grafana.example/api/datasources/proxy/uid/abc/ws');
    expect(proxyWebSocketUrl('/api/datasources/proxy/uid/abc/', 'http://localhost:3000')).toBe('ws://localhost:3000/api/datasources/proxy/uid/abc/ws');
  });

  it('builds the direct URL with its ticket and refuses ws:// from an https page', () => {
    expect(directWebSocketUrl('https://weft.example:7317', 'T1', 'https://g.example')).toBe('wss://weft.example:7317/ws?ticket=T1');
    expect(directWebSocketUrl('ws://10.61.0.1:7317/', 'T 2', 'http://g.example')).toBe('ws://10.61.0.1:7317/ws?ticket=T+2');
    expect(() => directWebSocketUrl('ws://weft.example:7317', 'T', 'https://g.example')).toThrow('Grafana is served over https, so direct mode needs a wss:// collector URL');
    expect(() => directWebSocketUrl('', 'T', 'https://g.example')).toThrow('is not a valid URL');
  });

  it('backs off doubling to a ceiling, with jitter in the upper half', () => {
    const o = { baseMs: 500, maxMs: 15_000 };
    expect([0, 1, 2, 3, 10].map((a) => backoffDelay(a, o, 0))).toEqual([250, 500, 1000, 2000, 7500]);
    expect(backoffDelay(10, o, 0.999)).toBeLessThanOrEqual(15_000);
  });
});
