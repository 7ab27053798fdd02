// The `weft` client on bad input: options refused before connecting, and a collector that sends
// something other than protocol messages gives a clear error instead of crashing the process.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { WeftClient } from '../../src/cli/client.js';
import { specFrom } from '../../src/cli/commands.js';

const base = { server: '', tokenFile: '' };

describe('weft options', () => {
  it('refuses a level, port or top that the collector would not accept', () => {
    expect(() => specFrom('links', { ...base, aggregate: 'cluster' })).toThrow(/--aggregate cluster is not one of: endpoint, process/);
    expect(() => specFrom('links', { ...base, port: '70000' })).toThrow(/--port 70000 is not a whole number from 0 to 65535/);
    expect(() => specFrom('flows', { ...base, top: 'ten' })).toThrow(/--top ten is not a whole number/);
    expect(specFrom('flows', { ...base, aggregate: 'node', port: '53', top: '0' })).toEqual({ table: 'flows', filter: { port: 53 }, aggregate: 'node', top: 0 });
  });
});

describe('weft client against a collector that sends garbage', () => {
  let server: WebSocketServer | undefined;
  afterEach(async () => {
    for (const c of server?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function serve(onConnection: (send: (text: string) => void) => void): Promise<string> {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    server.on('connection', (ws) => onConnection((text) => ws.send(text)));
    await once(server, 'listening');
    return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('rejects a greeting that is not JSON', async () => {
    const url = await serve((send) => send('not json'));
    await expect(WeftClient.connect({ server: url, token: 't', timeoutMs: 5000 })).rejects.toThrow(/did not answer with a Weft hello/);
  });

  it('fails a waiting request when a later message is not JSON', async () => {
    const hello = { type: 'hello', protocol: 1, server: { name: 'weft-collector', version: 't', node: 'n' }, features: {}, tables: { links: 0, flows: 0 }, heartbeatMs: 10_000 };
    const url = await serve((send) => {
      send(JSON.stringify(hello));
      setTimeout(() => send('null'), 50);
    });
    const client = await WeftClient.connect({ server: url, token: 't', timeoutMs: 5000 });
    try {
      await expect(client.query('q', { table: 'links' }, 0, 1)).rejects.toThrow(/not a protocol message/);
    } finally {
      await client.close();
    }
  });
});
