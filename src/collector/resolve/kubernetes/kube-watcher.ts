// Keeps a KubeIndex current with the official client's informers (list, then watch; a watch that
// ends in 410 Gone lists again). Requests that hang are cut by timeouts, a failed informer is
// restarted with backoff, and nothing here is ever awaited by resolve().
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  Observable,
  makeInformer,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { KubeIndex } from './kube-index.js';

export interface KubeWatcherOptions {
  /** A request that has not answered by then is abandoned (list) or reconnected (watch). */
  requestTimeoutMs?: number;
  /** First and largest delay before an informer that failed starts again. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Told once per change of state (connected, failing), never once per retry. */
  log?: (line: string) => void;
  /** Called after every add, update or delete the index took in. */
  onChange?: () => void;
}

/** KubeConfig whose requests (the watch's included) give up when no response comes in time. */
class TimedKubeConfig extends KubeConfig {
  timeoutMs = 30_000;
  override async applyToFetchOptions(opts: Parameters<KubeConfig['applyToFetchOptions']>[0]) {
    const o = await super.applyToFetchOptions(opts);
    return { ...o, timeout: this.timeoutMs };
  }
}

type Handlers = { set: (o: KubernetesObject) => void; remove: (o: KubernetesObject) => void };

export class KubeWatcher {
  readonly index = new KubeIndex();
  private readonly informers: { name: string; informer: Informer<KubernetesObject>; failures: number; timer?: NodeJS.Timeout }[] = [];
  /** Per informer, the last state logged: each change is told once. */
  private readonly told = new Map<string, string>();
  private readonly abort = new AbortController();
  private readonly o: Required<KubeWatcherOptions>;
  private closed = false;
  private synced = new Set<string>();
  private readonly kc: KubeConfig;

  constructor(config: KubeConfig, opts: KubeWatcherOptions = {}) {
    this.o = { requestTimeoutMs: 30_000, retryMinMs: 1_000, retryMaxMs: 30_000, log: () => {}, onChange: () => {}, ...opts };
    const kc = new TimedKubeConfig();
    this.kc = kc;
    // The same clusters, users and contexts as given (in-cluster token files included).
    kc.loadFromOptions({ clusters: config.clusters, users: config.users, contexts: config.contexts, currentContext: config.currentContext });
    kc.timeoutMs = this.o.requestTimeoutMs;
    const cut = {
      pre: (ctx: RequestContext) => {
        ctx.setSignal(AbortSignal.any([AbortSignal.timeout(this.o.requestTimeoutMs), this.abort.signal]));
        return new Observable(Promise.resolve(ctx));
      },
      post: (ctx: ResponseContext) => new Observable(Promise.resolve(ctx)),
    };
    const opt = { middleware: [cut], middlewareMergeStrategy: 'append' as const };
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const ix = this.index;
    this.add(kc, 'pods', '/api/v1/pods', () => core.listPodForAllNamespaces({}, opt), { set: (o) => ix.setPod(o), remove: (o) => ix.deletePod(o) });
    this.add(kc, 'services', '/api/v1/services', () => core.listServiceForAllNamespaces({}, opt), { set: (o) => ix.setService(o), remove: (o) => ix.deleteService(o) });
    this.add(kc, 'endpointslices', '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces({}, opt), {
      set: (o) => ix.setEndpointSlice(o),
      remove: (o) => ix.deleteEndpointSlice(o),
    });
    this.add(kc, 'replicasets', '/apis/apps/v1/replicasets', () => apps.listReplicaSetForAllNamespaces({}, opt), {
      set: (o) => ix.setOwned('ReplicaSet', o),
      remove: (o) => ix.deleteOwned('ReplicaSet', o),
    });
    this.add(kc, 'nodes', '/api/v1/nodes', () => core.listNode({}, opt), { set: (o) => ix.setNode(o), remove: (o) => ix.deleteNode(o) });
    this.add(kc, 'jobs', '/apis/batch/v1/jobs', () => batch.listJobForAllNamespaces({}, opt), { set: (o) => ix.setOwned('Job', o), remove: (o) => ix.deleteOwned('Job', o) });
  }

  start(): void {
    for (const i of this.informers) this.startOne(i);
  }

  /** True once every informer has listed at least once. */
  get ready(): boolean {
    return this.synced.size === this.informers.length;
  }

  /** A rotated bearer token for `user`: requests from now on carry it. */
  setUserToken(user: string, token: string): void {
    this.kc.users = this.kc.users.map((u) => (u.name === user ? { ...u, token } : u));
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const i of this.informers) {
      clearTimeout(i.timer);
      void i.informer.stop().catch(() => {});
    }
  }

  private add(kc: KubeConfig, name: string, path: string, list: () => Promise<KubernetesListObject<KubernetesObject>>, h: Handlers): void {
    let lastList = 0;
    const listed = async () => {
      // The informer lists again at once after a 410 Gone; a server answering 410 to every watch
      // would make that a tight loop, so lists are spaced by at least retryMinMs.
      const wait = lastList + this.o.retryMinMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      lastList = Date.now();
      const result = await list();
      entry.failures = 0;
      this.synced.add(name);
      if (this.told.get(name) === 'failing') this.tell(name, 'ok', `kubernetes: ${name}: listed again`);
      if (this.ready) this.tell('*', 'ok', 'kubernetes: watching pods, services, endpoint slices, nodes, replica sets and jobs');
      return result;
    };
    const informer = makeInformer<KubernetesObject>(kc, path, listed);
    const entry: (typeof this.informers)[number] = { name, informer, failures: 0 };
    const changed = (apply: (o: KubernetesObject) => void) => (o: KubernetesObject) => {
      apply(o);
      this.o.onChange();
    };
    informer.on('add', changed(h.set));
    informer.on('update', changed(h.set));
    informer.on('delete', changed(h.remove));
    informer.on('error', (err: unknown) => {
      if (this.closed) return;
      entry.failures += 1;
      this.tell(name, 'failing', `kubernetes: ${name}: ${describe(err)}; retrying with backoff`);
      const delay = Math.min(this.o.retryMaxMs, this.o.retryMinMs * 2 ** Math.min(entry.failures - 1, 10));
      entry.timer = setTimeout(() => this.startOne(entry), delay);
      entry.timer.unref();
    });
    this.informers.push(entry);
  }

  private startOne(i: (typeof this.informers)[number]): void {
    if (this.closed) return;
    // Failures come through the informer's error callback, which schedules the next start.
    i.informer.start().catch(() => {});
  }

  private tell(key: string, state: string, line: string): void {
    if (this.told.get(key) === state) return;
    this.told.set(key, state);
    this.o.log(line);
  }
}

function describe(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { message?: string; code?: unknown; statusCode?: unknown };
    return [e.message, e.statusCode ?? e.code].filter((x) => x !== undefined && x !== '').join(' ');
  }
  return String(err);
}
