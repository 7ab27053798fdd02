// Reverse DNS only when asked: resolve() alone sends no PTR query; reverse(ip) asks the configured
// server (a test server on loopback), and the answer then names the address in resolve().
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { decodeQuery, encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';

describe('resolve: reverse DNS when asked', () => {
  let server: Socket;
  const asked: string[] = [];
  let resolver: WeftResolver;

  beforeAll(async () => {
    server = createSocket('udp4');
    server.on('message', (msg, rinfo) => {
      const q = decodeQuery(msg);
      if (!q) return;
      asked.push(q.name);
      if (q.name !== '9.0.77.10.in-addr.arpa') return; // other addresses: no answer at all
      const r = encodeResponse({ id: q.id, question: { name: q.name, type: 'PTR' }, answers: [{ name: q.name, type: 'PTR', ttl: 300, data: 'gateway.weft.test' }] });
      server.send(r, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
    resolver = createResolver({ kubernetes: false, nat: false, dns: { reverse: { servers: [`127.0.0.1:${(server.address() as AddressInfo).port}`], timeoutMs: 300 } }, log: () => {} });
    await resolver.ready();
  });

  afterAll(() => {
    resolver?.close();
    server.close();
  });

  it('asks only for addresses it is asked about, and names them with the answer', async () => {
    // resolve() by itself asks nothing.
    expect(resolver.resolve({ ip: '10.77.0.7' }).name).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    expect(asked).toEqual([]);
    expect(await resolver.reverse('10.77.0.9')).toBe('gateway.weft.test');
    expect(asked).toContain('9.0.77.10.in-addr.arpa');
    expect(resolver.resolve({ ip: '10.77.0.9' })).toEqual({ ip: '10.77.0.9', kind: 'external', name: 'gateway.weft.test', dns: 'gateway.weft.test' });
    // No answer within the timeout: undefined, and the address stays unnamed.
    expect(await resolver.reverse('10.77.0.8')).toBeUndefined();
    expect(resolver.resolve({ ip: '10.77.0.8' }).name).toBeUndefined();
  });
});
