// --tls-cert/--tls-key: the same port serves https and wss, so a Grafana on https can open the
// socket directly with a ticket.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import WebSocket from 'ws';
import { WeftClient } from '../../src/cli/client.js';
import type { ServerMessage, TicketResponse } from '../../src/protocol/index.js';
import { TOKEN, startTestServer, type TestServer } from '../helpers/server.js';

// A self-signed certificate for 127.0.0.1, valid for a century, made once for these tests.
const FIXTURES = new URL('../fixtures/tls/', import.meta.url);
let t: TestServer | undefined;
afterAll(async () => {
  await t?.server.close();
});

describe('collector over TLS', () => {
  it('serves wss and https with the given certificate', async () => {
    const ca = readFileSync(new URL('cert.pem', FIXTURES));
    t = await startTestServer({ tls: { cert: ca, key: readFileSync(new URL('key.pem', FIXTURES)) } });
    expect(t.server.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/ws$/);

    const client = await WeftClient.connect({ server: t.server.wsUrl, token: TOKEN, ca });
    expect(client.hello.protocol).toBe(1);
    await client.close();

    const ticket = await new Promise<TicketResponse>((resolve, reject) => {
      const req = request(`${t!.server.httpUrl}/api/ticket`, { method: 'POST', ca, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body) as TicketResponse));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ origin: 'https://grafana.test' }));
    });
    const ws = new WebSocket(`${t.server.wsUrl}?ticket=${ticket.ticket}`, { ca, origin: 'https://grafana.test' });
    const first = await new Promise<ServerMessage>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d)) as ServerMessage));
      ws.once('error', reject);
    });
    expect(first.type).toBe('hello');
    ws.close();

    // Without trusting the certificate, the connection is refused.
    await expect(WeftClient.connect({ server: t.server.wsUrl, token: TOKEN })).rejects.toThrow(/self-signed|certificate/);
  });
});
