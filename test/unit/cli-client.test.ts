// The `weft` client on bad input: options refused before connecting, and a collector that sends
// something other than protocol messages gives a clear error instead of crashing the process.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WeftClient } from '../../src/cli/client.js';
import { specFrom } from '../../src/cli/commands.js';
import { messageText } from '../../src/cli/message-text.js';

const base = { server: '', tokenFile: '' };

describe('weft options', () => {
  it('refuses a level, port or top that the collector would not accept', () => {
    expect(() => specFrom('links', { ...base, aggregate: 'cluster' })).toThrow(/--aggregate cluster is not one of: endpoint, process/);
    expect(() => specFrom('links', { ...base, port: '70000' })).toThrow(/--port 70000 is not a whole number from 0 to 65535/);
    expect(() => specFrom('flows', { ...base, top: 'ten' })).toThrow(/--top ten is not a whole number/);
    expect(specFrom('flows', { ...base, aggregate: 'node', port: '53', top: '0' })).toEqual({ table: 'flows', filter: { port: 53 }, aggregate: 'node', top: 0 });
  });
});

describe('message text', () => {
  it('decodes ASCII and UTF-8 alike, in every form ws hands a message over', () => {
    const ascii = '{"type":"hello","name":"web-1"}';
    const utf8 = '{"type":"hello","name":"café 日本 \u{1F600}"}';
    for (const text of [ascii, utf8]) {
      const bytes = Buffer.from(text);
      expect(messageText(bytes)).toBe(text);
      // Fragments cut inside a multi-byte character.
      expect(messageText([bytes.subarray(0, 28), bytes.subarray(28)])).toBe(text);
      expect(messageText(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))).toBe(text);
    }
  });
});

describe('weft client against a collector that sends garbage', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    for (const c of server?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(onConnection: (send: (text: string) => void, received: (fn: (text: string) => void) => void) => void): Promise<string> {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (ws) => onConnection((text) => ws.send(text), (fn) => ws.on('message', (d) => fn(String(d)))));
    await once(server, 'listening');
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('rejects a greeting that is not JSON', async () => {
    const url = await serve((send) => send('not json'));
    await expect(WeftClient.connect({ server: url, token: 't', timeoutMs: 5000 })).rejects.toThrow(/did not answer with a Weft hello/);
  });

  it('fails a waiting request when a later message is not JSON', async () => {
    const hello = { type: 'hello', protocol: 1, server: { name: 'weft-collector', version: 't', node: 'n' }, features: {}, tables: { links: 0, flows: 0 }, heartbeatMs: 10_000 };
    const url = await serve((send, received) => {
      send(JSON.stringify(hello));
      // Once the request is on its way, so it is waiting whenever the garbage arrives.
      received((text) => (JSON.parse(text) as { type: string }).type === 'query' && send('null'));
    });
    const client = await WeftClient.connect({ server: url, token: 't', timeoutMs: 5000 });
    try {
      await expect(client.query('q', { table: 'links' }, 0, 1)).rejects.toThrow(/not a protocol message/);
    } finally {
      await client.close();
    }
  });
});
