// The official client's informers (list + watch) against a test API server: pods become pod →
// workload → namespace, a ClusterIP becomes its service; adds, modifies and deletes arrive over
// the watch; a reused pod IP goes to the new pod; a watch that ends in 410 Gone makes the client
// list again, and what changed while it was away is picked up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import type { Endpoint } from '../../src/protocol/index.js';
import { endpointId } from '../../src/protocol/endpoint-id.js';
import { KubeApiServer } from './resolve-fixtures/kube-api-server.js';
import { inClusterApiServer } from './resolve-fixtures/in-cluster.js';
import { endpointSlice, job, node, pod, replicaSet, service } from './resolve-fixtures/kube-objects.js';

const PODS = '/api/v1/pods';

// Bounded well above what it takes here: the first wait includes loading the Kubernetes client,
// which a loaded machine can take seconds to do.
async function until(r: WeftResolver, ip: string, ok: (e: Endpoint) => boolean, ms = 20_000): Promise<Endpoint> {
  const end = Date.now() + ms;
  let e = r.resolve({ ip });
  while (!ok(e) && Date.now() < end) {
    await new Promise((res) => setTimeout(res, 20));
    e = r.resolve({ ip });
  }
  return e;
}

describe('resolve: Kubernetes through the official informers', () => {
  const api = new KubeApiServer();
  let resolver: WeftResolver;
  const logs: string[] = [];

  beforeAll(async () => {
    const url = await api.listen();
    api.apply('/apis/apps/v1/replicasets', 'ADDED', replicaSet);
    api.apply('/apis/batch/v1/jobs', 'ADDED', job);
    api.apply(PODS, 'ADDED', pod('web-7d9f5-abcde', '10.74.1.1', { kind: 'ReplicaSet', name: 'web-7d9f5' }));
    api.apply(PODS, 'ADDED', pod('db-0', '10.74.1.3', { kind: 'StatefulSet', name: 'db' }));
    api.apply(PODS, 'ADDED', pod('backup-29000000-q8x2z', '10.74.1.2', { kind: 'Job', name: 'backup-29000000' }));
    api.apply('/api/v1/services', 'ADDED', service);
    api.apply('/apis/discovery.k8s.io/v1/endpointslices', 'ADDED', endpointSlice);
    api.apply('/api/v1/nodes', 'ADDED', node);
    resolver = createResolver({
      kubernetes: { kubeconfig: api.kubeconfig(url), requestTimeoutMs: 3000, retryMinMs: 100 },
      nat: false,
      log: (l) => logs.push(l),
    });
  });

  afterAll(async () => {
    resolver?.close();
    await api.close();
  });

  it('lists: pod → workload (Deployment via ReplicaSet, StatefulSet, CronJob via Job) and namespace; ClusterIP → service; node address → node', async () => {
    const web = await until(resolver, '10.74.1.1', (e) => e.workloadKind === 'Deployment');
    expect(web).toEqual({ ip: '10.74.1.1', kind: 'pod', name: 'web-7d9f5-abcde', pod: 'web-7d9f5-abcde', namespace: 'shop', workload: 'web', workloadKind: 'Deployment', node: 'node-74' });
    expect(endpointId(web, 'workload')).toBe('workload:shop/Deployment/web');
    expect(resolver.resolve({ ip: '10.74.1.3' })).toMatchObject({ pod: 'db-0', workload: 'db', workloadKind: 'StatefulSet' });
    expect(await until(resolver, '10.74.1.2', (e) => e.workloadKind === 'CronJob')).toMatchObject({ pod: 'backup-29000000-q8x2z', workload: 'backup' });
    expect(await until(resolver, '10.74.96.1', (e) => e.kind === 'service')).toEqual({ ip: '10.74.96.1', kind: 'service', name: 'web', namespace: 'shop' });
    expect(await until(resolver, '10.74.200.1', (e) => e.kind === 'service')).toMatchObject({ name: 'legacy-db', namespace: 'shop' });
    expect(await until(resolver, '10.74.0.1', (e) => e.kind === 'node')).toEqual({ ip: '10.74.0.1', kind: 'node', name: 'node-74', node: 'node-74' });
    expect(resolver.resolve({ ip: '10.74.1.99' }).kind).toBe('external');
    expect(resolver.kube?.ready).toBe(true);
    expect(logs.some((l) => l.startsWith('kubernetes: watching'))).toBe(true);
  });

  it('watches: add, modify (a pending pod gets its IP), delete', async () => {
    api.apply(PODS, 'ADDED', pod('api-5c6d7-zzzzz', undefined, { kind: 'ReplicaSet', name: 'api-5c6d7' }, 'Pending'));
    api.apply(PODS, 'MODIFIED', pod('api-5c6d7-zzzzz', '10.74.1.4', { kind: 'ReplicaSet', name: 'api-5c6d7' }));
    expect(await until(resolver, '10.74.1.4', (e) => e.kind === 'pod')).toMatchObject({ pod: 'api-5c6d7-zzzzz', workload: 'api-5c6d7', workloadKind: 'ReplicaSet' });

    api.apply(PODS, 'DELETED', pod('backup-29000000-q8x2z', '10.74.1.2', { kind: 'Job', name: 'backup-29000000' }));
    expect(await until(resolver, '10.74.1.2', (e) => e.kind !== 'pod')).toEqual({ ip: '10.74.1.2', kind: 'external' });
  });

  it('re-attributes a reused pod IP, whichever of the add and the delete comes first', async () => {
    api.apply(PODS, 'ADDED', pod('web-7d9f5-fghij', '10.74.1.1', { kind: 'ReplicaSet', name: 'web-7d9f5' }));
    expect(await until(resolver, '10.74.1.1', (e) => e.pod === 'web-7d9f5-fghij')).toMatchObject({ pod: 'web-7d9f5-fghij', workload: 'web' });
    api.apply(PODS, 'DELETED', pod('web-7d9f5-abcde', '10.74.1.1', { kind: 'ReplicaSet', name: 'web-7d9f5' }));
    await new Promise((r) => setTimeout(r, 100));
    expect(resolver.resolve({ ip: '10.74.1.1' }).pod).toBe('web-7d9f5-fghij');
  });

  it('a watch ending in 410 Gone makes the informer list again and catch up', async () => {
    const lists = api.count(`LIST ${PODS}`);
    // Changes the watch will never report (history is compacted right after).
    api.apply(PODS, 'DELETED', pod('db-0', '10.74.1.3', { kind: 'StatefulSet', name: 'db' }), true);
    api.apply(PODS, 'ADDED', pod('late-0', '10.74.1.5', { kind: 'StatefulSet', name: 'late' }), true);
    api.expire(PODS);
    expect(await until(resolver, '10.74.1.5', (e) => e.kind === 'pod')).toMatchObject({ pod: 'late-0', workload: 'late' });
    expect(resolver.resolve({ ip: '10.74.1.3' }).kind).toBe('external');
    expect(api.count(`LIST ${PODS}`)).toBe(lists + 1);
    // The watch after the re-list starts from the list's resourceVersion, and still works.
    api.apply(PODS, 'ADDED', pod('after-0', '10.74.1.6', { kind: 'StatefulSet', name: 'after' }));
    expect(await until(resolver, '10.74.1.6', (e) => e.kind === 'pod')).toMatchObject({ pod: 'after-0' });
  });
});

describe('resolve: Kubernetes against a server that answers every watch with 410 Gone', () => {
  const api = new KubeApiServer();
  let resolver: WeftResolver | undefined;

  afterAll(async () => {
    resolver?.close();
    await api.close();
  });

  it('lists again, spaced out, not in a tight loop', async () => {
    const url = await api.listen();
    api.apply(PODS, 'ADDED', pod('loop-0', '10.74.3.1'));
    api.refuseWatches(PODS);
    resolver = createResolver({ kubernetes: { kubeconfig: api.kubeconfig(url), retryMinMs: 200 }, nat: false, log: () => {} });
    expect(await until(resolver, '10.74.3.1', (e) => e.kind === 'pod')).toMatchObject({ pod: 'loop-0' });
    const start = api.count(`LIST ${PODS}`);
    const listed = (): number => api.count(`LIST ${PODS}`) - start;
    // At least 1 s, and on until it has listed twice more (a loaded machine may take longer), bounded.
    const t0 = Date.now();
    while ((Date.now() - t0 < 1000 || listed() < 2) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    const lists = listed();
    expect(lists).toBeGreaterThanOrEqual(2); // it does keep trying
    expect(lists).toBeLessThanOrEqual((Date.now() - t0) / 200 + 2); // about one per 200 ms
  });
});

describe('resolve: Kubernetes from an in-cluster service account', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-sa-'));
  const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
  let api: KubeApiServer;
  let resolver: WeftResolver | undefined;
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };

  beforeAll(async () => {
    let url: URL;
    ({ api, url } = await inClusterApiServer(dir, sa, 'sa-token-74'));
    api.apply(PODS, 'ADDED', pod('agent-x9', '10.74.2.1', { kind: 'DaemonSet', name: 'agent' }));
    process.env.KUBERNETES_SERVICE_HOST = url.hostname;
    process.env.KUBERNETES_SERVICE_PORT = url.port;
    resolver = createResolver({ kubernetes: { serviceAccountRoot: dir, requestTimeoutMs: 3000, retryMinMs: 100 }, nat: false, log: () => {} });
  });

  afterAll(async () => {
    resolver?.close();
    await api?.close();
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies the API server with the service account CA and sends its token', async () => {
    expect(await until(resolver!, '10.74.2.1', (e) => e.kind === 'pod')).toMatchObject({ pod: 'agent-x9', workload: 'agent', workloadKind: 'DaemonSet' });
    expect(api.authorizations.length).toBeGreaterThan(0);
    expect(new Set(api.authorizations)).toEqual(new Set(['Bearer sa-token-74']));
  });
});
