// Resolution never waits on the network: with an API server that accepts connections and never
// answers, and a DNS server that never answers reverse lookups, names stay unknown and resolve()
// still answers at once, call after call, while those requests hang in the background.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { findKubeCandidate, loadKubeConfig } from '../../src/collector/resolve/kubernetes/kube-config.js';
import { KubeApiServer } from './resolve-fixtures/kube-api-server.js';

describe('resolve: never blocks', () => {
  let silentApi: Server;
  const held: Socket[] = [];
  let silentDns: UdpSocket;
  let dnsQueries = 0;
  let resolver: WeftResolver;
  const logs: string[] = [];

  beforeAll(async () => {
    silentApi = createServer((s) => held.push(s)); // accepts, never answers
    await new Promise<void>((r) => silentApi.listen(0, '127.0.0.1', r));
    silentDns = createSocket('udp4');
    silentDns.on('message', () => (dnsQueries += 1)); // never answers
    await new Promise<void>((r) => silentDns.bind(0, '127.0.0.1', r));
    const kubeconfig = new KubeApiServer().kubeconfig(`http://127.0.0.1:${(silentApi.address() as AddressInfo).port}`);
    resolver = createResolver({
      kubernetes: { kubeconfig, requestTimeoutMs: 400, retryMinMs: 100, retryMaxMs: 400 },
      dns: { reverse: { servers: [`127.0.0.1:${(silentDns.address() as AddressInfo).port}`], timeoutMs: 5000, auto: true } },
      nat: false,
      log: (l) => logs.push(l),
    });
  });

  afterAll(async () => {
    resolver?.close();
    for (const s of held) s.destroy();
    await new Promise<void>((r) => silentApi.close(() => r()));
    silentDns.close();
  });

  it('answers at once while the API server and DNS hang, and names stay unknown', async () => {
    const ips = ['10.75.1.1', '10.75.96.1', '10.75.200.7', 'fd00:75::9'];
    const times: number[] = [];
    // Ask for at least 1.5 s, and on until both servers have really been hung on (a loaded machine
    // may take that long just to load the Kubernetes client), within a bound.
    const told = () => logs.filter((l) => l.includes('retrying'));
    const hung = () => held.length >= 2 && dnsQueries > 0 && told().length > 0;
    const start = Date.now();
    while (Date.now() - start < 1500 || (!hung() && Date.now() - start < 20_000)) {
      for (let i = 0; i < 200; i++) {
        const t0 = process.hrtime.bigint();
        const e = resolver.resolve({ ip: ips[i % ips.length]!, port: 80 });
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
        expect(e.kind).toBe('external');
        expect(e.name).toBeUndefined();
      }
      // Let the background requests run (and hang) between batches.
      await new Promise((r) => setTimeout(r, 5));
    }
    // The hanging really happened: the client connected (and retried after its timeout), and
    // reverse lookups were sent and never answered.
    expect(held.length).toBeGreaterThanOrEqual(2);
    expect(dnsQueries).toBeGreaterThan(0);
    expect(resolver.kube?.ready).toBe(false);
    // A behaviour bound, not a performance figure: a call that waited on either server would take
    // at least its timeout (400 ms, 5 s); none came near it. Speed is measured by the resolve bench.
    times.sort((a, b) => a - b);
    expect(times.length).toBeGreaterThan(1000);
    expect(times[times.length - 1]!).toBeLessThan(400);
    // Failures are told once per informer (six of them), not once per retry; let retries run on.
    expect(told().length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1000));
    expect(told().length).toBeLessThanOrEqual(6);
  });

  it('no cluster configured: Kubernetes naming is simply off', async () => {
    // Nothing to read: no candidate, so the Kubernetes client is not even loaded.
    expect(findKubeCandidate({}, { KUBECONFIG: '/nonexistent/weft/config' })).toBeUndefined();
    expect(await loadKubeConfig({}, { KUBECONFIG: '/nonexistent/weft/config' })).toEqual({ source: 'none' });
    const quiet: string[] = [];
    const r = createResolver({ kubernetes: false, nat: false, log: (l) => quiet.push(l) });
    expect(r.kube).toBeUndefined();
    expect(r.resolve({ ip: '10.75.1.1' }).kind).toBe('external');
    r.close();
    expect(quiet).toEqual([]);
  });
});
