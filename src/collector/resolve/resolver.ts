// createResolver(): every source of names behind the one synchronous resolve() the tables call.
// Each source fills its cache in the background (scans, informers, DNS answers, conntrack);
// resolve() only reads those caches, so a slow or absent source leaves names unknown, never waits.
// With `isolate`, what comes off the network (DNS answers, Kubernetes API responses, reverse DNS
// replies) is parsed by an unprivileged child process, which sends back checked facts.
import { hostname as osHostname } from 'node:os';
import type { Endpoint } from '../../protocol/index.js';
import { fileURLToPath } from 'node:url';
import { openObject, type Attachment, type BpfObject } from '../kernel/index.js';
import type { EndpointFacts, Resolver } from './types.js';
import { lookupKey, nameEndpoint, type Lookups } from './name-endpoint.js';
import { NetnsNames, hostNetnsInode } from './local/netns-names.js';
import { HostAddresses, isLoopback } from './local/addresses.js';
import { ProcessTable } from './local/processes.js';
import { CgroupIndex } from './local/cgroups.js';
import { DnsCache } from './dns/dns-cache.js';
import { DnsSniffer, type DnsWatchTarget } from './dns/dns-sniffer.js';
import { checkServer, makeReverseLookup, type ReverseDnsOptions } from './dns/reverse-dns.js';
import { BackgroundCache } from './background-cache.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { findKubeCandidate, inClusterConfig, loadKubeConfig, type KubeConfigData, type KubeSource } from './kubernetes/kube-config.js';
import type { KubeWatcher, KubeWatcherOptions } from './kubernetes/kube-watcher.js';
import { ConntrackWatcher, type ConntrackWatcherOptions } from './nat/conntrack-watcher.js';
import { resolverInit } from '../privsep/resolver-init.js';
import { startResolverProcess, type ResolverProcess } from '../privsep/resolver-process.js';
import type { ServerUser } from '../privsep/user.js';

/** Built by `make -C bpf`; the same relative place from src/ and from the compiled lib/. */
const DNS_OBJECT = fileURLToPath(new URL('../../../lib/bpf/dns.bpf.o', import.meta.url));

export interface ResolverOptions {
  /** Node name for this host's addresses (default: os.hostname()). */
  hostname?: string;
  /** How often netns names, host addresses and cgroups are scanned again. */
  refreshMs?: number;
  procDir?: string;
  runNetnsDir?: string;
  /** Where the cgroup v2 tree is mounted (default: found in /proc/self/mountinfo). */
  cgroupRoot?: string;
  /** false = off; default: on when a cluster is found (in-cluster or kubeconfig). */
  kubernetes?: false | (KubeWatcherOptions & KubeSource);
  dns?: {
    /** dns.bpf.o, opened through the addon when there are interfaces to watch (default: lib/bpf/). */
    objectPath?: string;
    /** The same, already opened (the resolver owns it from then on). */
    object?: BpfObject;
    /** Interfaces whose DNS answers name addresses (more can be added with watchDns). */
    watch?: DnsWatchTarget[];
    minTtlSec?: number;
    maxTtlSec?: number;
    /** Where reverse() asks, and whether resolve() may start lookups itself (`auto`, off by default). */
    reverse?: ReverseDnsOptions;
  };
  /** false = off; default: conntrack of the collector's own namespace. */
  nat?: false | ConntrackWatcherOptions;
  /**
   * Parse network input in an unprivileged process running as `user` (privsep/resolver-process.ts);
   * absent: in this process. `module` replaces the child (tests).
   */
  isolate?: { user: ServerUser; module?: string; tokenCheckMs?: number };
  log?: (line: string) => void;
}

export interface WeftResolver extends Resolver {
  /** Resolves once the first local scan is done (netns names, addresses, cgroups) and the cluster's configuration, if any, is read. */
  ready(): Promise<void>;
  /** Scans the local sources again now. */
  refresh(): Promise<void>;
  readonly dnsCache: DnsCache;
  /** Present once DNS answers are watched somewhere. */
  readonly dnsSniffer: DnsSniffer | undefined;
  /** Watches DNS answers on more interfaces (loads dns.bpf.o the first time). */
  watchDns(targets: DnsWatchTarget[]): Attachment[];
  /** The informers, when they run in this process (from when ready() resolves). */
  readonly kube?: KubeWatcher;
  /** The unprivileged process that parses network input, with `isolate`. */
  readonly isolated?: ResolverProcess;
  readonly conntrack?: ConntrackWatcher;
  /** Reverse DNS for one address, when asked (the answer is cached as its name). */
  reverse(ip: string): Promise<string | undefined>;
}

export function createResolver(opts: ResolverOptions = {}): WeftResolver {
  const log = opts.log ?? ((line: string) => console.error(`weft: ${line}`));
  const host = opts.hostname ?? osHostname();
  const procDir = opts.procDir ?? '/proc';
  const netns = new NetnsNames({ runDir: opts.runNetnsDir ?? '/run/netns', procDir });
  const addresses = new HostAddresses(procDir);
  const processes = new ProcessTable({ procDir });
  const cgroups = new CgroupIndex(opts.cgroupRoot);
  const dnsCache = new DnsCache({ minTtlSec: opts.dns?.minTtlSec, maxTtlSec: opts.dns?.maxTtlSec });
  const hostNetns = hostNetnsInode(procDir);

  const addNames = (names: { ip: string; name: string; ttl: number }[]): void => names.forEach((n) => dnsCache.add(n));
  // The Kubernetes client is loaded (asynchronously) only when there is a configuration to read
  // in this process: a kubeconfig file, or the service account with --no-privsep.
  const candidate = opts.kubernetes === false ? undefined : findKubeCandidate(opts.kubernetes || {});
  const inCluster = candidate && 'cluster' in candidate && opts.isolate ? { config: inClusterConfig(candidate.cluster), source: 'in-cluster service account' } : undefined;
  const kubeFound = candidate && !inCluster ? findKube(opts.kubernetes || {}, log) : undefined;
  let isolated: ResolverProcess | undefined;
  if (opts.isolate) {
    opts.dns?.reverse?.servers?.forEach(checkServer);
    const setup = (found: { config: KubeConfigData; source: string } | undefined) => resolverInit(found, opts.kubernetes || {}, opts.dns?.reverse, log);
    const { user, module, tokenCheckMs } = opts.isolate;
    isolated = startResolverProcess({ user, setup: kubeFound ? kubeFound.then(setup) : setup(inCluster), onNames: addNames, log, ...(module ? { module } : {}), ...(tokenCheckMs ? { tokenCheckMs } : {}), reverseTimeoutMs: (opts.dns?.reverse?.timeoutMs ?? 2_000) + 1_000 });
  }

  // DNS first: a BPF object that does not load fails here, before anything else is started.
  let dnsSniffer: DnsSniffer | undefined;
  const watchDns = (targets: DnsWatchTarget[]): Attachment[] => {
    if (!dnsSniffer) {
      const obj = opts.dns?.object ?? openObject(opts.dns?.objectPath ?? DNS_OBJECT);
      dnsSniffer = new DnsSniffer(obj, isolated?.dns ?? addNames);
      dnsSniffer.start();
    }
    const s = dnsSniffer;
    const done: Attachment[] = [];
    try {
      for (const t of targets) done.push(s.watch(t));
    } catch (e) {
      for (const a of done) a.detach();
      throw e;
    }
    return done;
  };
  if (opts.dns?.object || opts.dns?.watch?.length) {
    try {
      watchDns(opts.dns.watch ?? []);
    } catch (e) {
      dnsSniffer?.close();
      void isolated?.close();
      throw e;
    }
  }

  let kube: KubeWatcher | undefined;
  let closed = false;
  const kubeStarted =
    kubeFound && !isolated
      ? Promise.all([kubeFound, import('./kubernetes/kube-watcher.js')]).then(([found, { KubeWatcher }]) => {
          if (!found || closed) return;
          try {
            kube = new KubeWatcher(found.config, { log, ...opts.kubernetes });
            kube.start();
            log(`kubernetes: using ${found.source}`);
          } catch (e) {
            log(`kubernetes: off (${(e as Error).message})`);
          }
        })
      : undefined;

  let conntrack: ConntrackWatcher | undefined;
  if (opts.nat !== false) {
    conntrack = new ConntrackWatcher({ log, ...opts.nat });
    conntrack.start();
  }

  const reverseLookup = isolated ? (ip: string) => isolated.reverse(ip) : makeReverseLookup(opts.dns?.reverse);
  const reverseCache = opts.dns?.reverse?.auto ? new BackgroundCache<string, string>({ load: reverseLookup, ttlMs: 300_000, missTtlMs: 60_000, concurrency: 2 }) : undefined;

  // Local scans: one at a time, again every refreshMs, or sooner (at most every 500 ms) when
  // resolve() meets a namespace or cgroup the last scan did not have.
  let scanning: Promise<void> | undefined;
  let lastScan = 0;
  let wanted = false;
  let kickTimer: NodeJS.Timeout | undefined;
  const scan = (): Promise<void> => {
    wanted = false;
    scanning ??= (async () => {
      try {
        await netns.refresh();
        await addresses.refresh(netns.all());
        await cgroups.refresh();
      } catch (e) {
        log(`resolve: local scan failed: ${(e as Error).message}`);
      } finally {
        lastScan = Date.now();
        scanning = undefined;
        if (wanted) kick();
      }
    })();
    return scanning;
  };
  const kick = () => {
    if (scanning || kickTimer) return; // a running scan kicks again when it ends
    const wait = lastScan + 500 - Date.now();
    if (wait <= 0) {
      void scan();
      return;
    }
    kickTimer = setTimeout(() => {
      kickTimer = undefined;
      if (wanted) void scan();
    }, wait);
    kickTimer.unref();
  };
  const first = scan();
  // Each unknown namespace or cgroup asks for an early scan once per period, so one that never
  // shows up (another host's, a cgroup from another namespace) cannot keep the scans going.
  const asked = new Set<string>();
  const refreshMs = opts.refreshMs ?? 5_000;
  const timer = setInterval(() => {
    asked.clear();
    void scan();
  }, refreshMs);
  timer.unref();
  const soon = (key: string) => {
    if (asked.has(key) || asked.size >= 10_000) return;
    asked.add(key);
    wanted = true;
    kick();
  };

  const lookups: Lookups = {
    hostname: host,
    hostNetns,
    netnsName: (inode) => {
      const n = netns.name(inode);
      if (n === undefined) soon(`netns:${inode}`);
      return n;
    },
    netnsOfIp: (ip) => addresses.netnsOf(ip),
    isLocal: (ip) => addresses.isLocal(ip),
    process: (pid) => processes.get(pid),
    cgroupPath: (id) => {
      const p = cgroups.path(id);
      if (p === undefined) soon(`cgroup:${id}`);
      return p;
    },
    kube: (ip) => (isolated ? isolated.kube(ip) : kube?.index.lookup(ip)),
    dns: (ip) => dnsCache.get(ip) ?? (reverseCache && !isLoopback(ip) && !addresses.isLocal(ip) ? reverseCache.get(ip) : undefined),
  };

  return {
    resolve(facts: EndpointFacts): Endpoint {
      return nameEndpoint(facts, lookups);
    },
    originalDestination(clientIp, clientPort, serverIp, serverPort, protocol) {
      return conntrack?.table.lookup(protocol, clientIp, clientPort, serverIp, serverPort);
    },
    natOrigins(serverIp, serverPort, protocol) {
      return conntrack?.table.originsOf(protocol, serverIp, serverPort) ?? [];
    },
    isLocal: (ip) => addresses.isLocal(lookupKey(ip)),
    ready: async () => {
      await first;
      await (isolated ? kubeFound : kubeStarted);
    },
    refresh: scan,
    dnsCache,
    get dnsSniffer() {
      return dnsSniffer;
    },
    watchDns,
    get kube() {
      return kube;
    },
    isolated,
    conntrack,
    async reverse(ip) {
      const name = await reverseLookup(ip);
      if (name) dnsCache.add({ ip, name, ttl: 300 });
      return name;
    },
    close() {
      closed = true;
      clearInterval(timer);
      clearTimeout(kickTimer);
      kube?.close();
      void isolated?.close();
      conntrack?.close();
      dnsSniffer?.close();
      processes.close();
      reverseCache?.close();
    },
  };
}

/** The cluster's configuration, or undefined (none found, or unreadable: said once). */
async function findKube(src: KubeSource, log: (line: string) => void): Promise<{ config: KubeConfig; source: string } | undefined> {
  try {
    const { config, source } = await loadKubeConfig(src);
    return config ? { config, source } : undefined;
  } catch (e) {
    log(`kubernetes: off (${(e as Error).message})`);
    return undefined;
  }
}
