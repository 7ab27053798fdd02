// A test HTTP server that speaks the part of the Kubernetes API an informer uses: list (with a
// resourceVersion) and watch (a chunked stream of JSON lines, replayed from a resourceVersion),
// including the 410 Gone a real API server sends when a watch asks for history it compacted away.
// No kube-apiserver can be installed here (Debian bookworm ships kubectl only), so the official
// client's informers are driven against this instead.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string }; [k: string]: unknown };
type Event = { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj };

const LIST_KIND: Record<string, string> = {
  '/api/v1/pods': 'PodList',
  '/api/v1/services': 'ServiceList',
  '/api/v1/nodes': 'NodeList',
  '/apis/discovery.k8s.io/v1/endpointslices': 'EndpointSliceList',
  '/apis/apps/v1/replicasets': 'ReplicaSetList',
  '/apis/batch/v1/jobs': 'JobList',
};

export class KubeApiServer {
  private rv = 1000;
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly history = new Map<string, Event[]>();
  /** Watches from a resourceVersion below this get 410 Gone. */
  private readonly oldest = new Map<string, number>();
  private readonly watchers = new Map<string, Set<ServerResponse>>();
  private server: Server | undefined;
  /** Every request, as "METHOD path?query", in order. */
  readonly requests: string[] = [];
  /** The Authorization header of every request. */
  readonly authorizations: string[] = [];

  /** With `tls`, serves HTTPS (as in-cluster clients expect) with that key and certificate. */
  constructor(private readonly tls?: { key: string; cert: string }) {
    for (const p of Object.keys(LIST_KIND)) {
      this.objects.set(p, new Map());
      this.history.set(p, []);
      this.watchers.set(p, new Set());
      this.oldest.set(p, 0);
    }
  }

  async listen(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = this.tls ? createTlsServer(this.tls, handler) : createServer(handler);
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig file pointing at this server. */
  kubeconfig(url: string): string {
    const file = join(mkdtempSync(join(tmpdir(), 'weft-kube-')), 'config');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'test', user: { token: 'test-token' } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'test' } }],
        'current-context': 'test',
      }),
    );
    return file;
  }

  /** Changes an object; open watches see the event at once. `silent` changes it without any event. */
  apply(path: string, type: Event['type'], object: Obj, silent = false): void {
    const objs = this.objects.get(path)!;
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    this.rv += 1;
    const stamped: Obj = { ...object, metadata: { ...object.metadata, resourceVersion: String(this.rv) } };
    if (type === 'DELETED') objs.delete(key);
    else objs.set(key, stamped);
    if (silent) return;
    const ev: Event = { rv: this.rv, type, object: stamped };
    this.history.get(path)!.push(ev);
    for (const w of this.watchers.get(path)!) w.write(`${JSON.stringify({ type, object: stamped })}\n`);
  }

  /** Compacts history: open watches get a 410 Gone event and end, as etcd compaction causes. */
  expire(path: string): void {
    // Watching from the current version stays valid; anything older is gone.
    this.oldest.set(path, this.rv);
    this.history.set(path, []);
    for (const w of this.watchers.get(path)!) {
      w.end(`${JSON.stringify(gone(this.rv))}\n`);
    }
    this.watchers.get(path)!.clear();
  }

  /** From now on every watch of `path` gets 410 Gone at once, whatever its resourceVersion. */
  refuseWatches(path: string): void {
    this.oldest.set(path, Number.POSITIVE_INFINITY);
    this.expire(path);
    this.oldest.set(path, Number.POSITIVE_INFINITY);
  }

  count(prefix: string): number {
    return this.requests.filter((r) => r.startsWith(prefix)).length;
  }

  async close(): Promise<void> {
    for (const set of this.watchers.values()) for (const w of set) w.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const watch = url.searchParams.get('watch') === 'true';
    this.requests.push(`${watch ? 'WATCH' : 'LIST'} ${path}${url.search}`);
    this.authorizations.push(req.headers.authorization ?? '');
    const objs = this.objects.get(path);
    if (!objs || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' }));
      return;
    }
    if (!watch) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: LIST_KIND[path], apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: [...objs.values()] }));
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from < this.oldest.get(path)!) {
      res.end(`${JSON.stringify(gone(this.rv))}\n`);
      return;
    }
    for (const ev of this.history.get(path)!) if (ev.rv > from) res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
    this.watchers.get(path)!.add(res);
    res.on('close', () => this.watchers.get(path)?.delete(res));
  }
}

function gone(rv: number) {
  return {
    type: 'ERROR',
    object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: 1 (${rv})`, reason: 'Expired', code: 410 },
  };
}
