// Facts about one end of a connection + what the caches know → the Endpoint the tables carry.
// Pure: every lookup is a cache read handed in, so the rules are tested with plain data.
import type { Endpoint } from '../../protocol/index.js';
import type { EndpointFacts } from './types.js';
import { parseCgroupPath } from './local/cgroup-path.js';
import type { ProcessInfo } from './local/processes.js';
import type { KubeIdentity } from './kubernetes/kube-index.js';
import { isLoopback } from './local/addresses.js';
import { flat } from '../tables/flat.js';

export interface Lookups {
  hostname: string;
  /** Inode of the collector's own (the host's) network namespace. */
  hostNetns?: number;
  netnsName(inode: number): string | undefined;
  /** The one namespace on this host holding this address, if exactly one does. */
  netnsOfIp(ip: string): number | undefined;
  /** The address belongs to this host (any namespace) or is loopback. */
  isLocal(ip: string): boolean;
  process(pid: number): ProcessInfo | undefined;
  cgroupPath(id: number): string | undefined;
  kube(ip: string): KubeIdentity | undefined;
  dns(ip: string): string | undefined;
}

/** Docker's short form: the first 12 hex digits name a container everywhere users see one. */
const SHORT_ID = 12;

/** An IPv4 address as a dual-stack socket reports it (::ffff:a.b.c.d) is looked up as IPv4. */
export function lookupKey(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** A host has few namespaces and 100,000 endpoints may name them: their text is made once each (bounded). */
const NETNS_TEXTS = 4096;
const netnsText = new Map<number, string>();

/** `netns:[INODE]`, the text of a namespace with no name. */
export function unnamedNetns(inode: number): string {
  let t = netnsText.get(inode);
  if (t === undefined) {
    if (netnsText.size >= NETNS_TEXTS) netnsText.clear();
    t = flat('netns:[', inode, ']');
    netnsText.set(inode, t);
  }
  return t;
}

/**
 * An endpoint as nameEndpoint() fills it, one field at a time. V8 gives the objects a constructor
 * makes room for the fields they grow to, where a literal `{ ip }` holds one field and puts the
 * rest in an array of their own: a process's endpoint, with command line, is 155 bytes against
 * 178 (100,000 of them, measured). It serialises and compares as the plain object it stands for.
 */
class NamedEndpoint {
  constructor(public ip: string) {}
}

export function nameEndpoint(f: EndpointFacts, l: Lookups): Endpoint {
  const e: Endpoint = new NamedEndpoint(f.ip);
  const ip = lookupKey(f.ip);
  if (f.port !== undefined) e.port = f.port;

  const inode = f.netnsInode || l.netnsOfIp(ip);
  let netnsNamed = false;
  if (inode) {
    e.netnsInode = inode;
    const name = l.netnsName(inode);
    e.netns = name ?? unnamedNetns(inode);
    netnsNamed = name !== undefined;
  }

  let info: ProcessInfo | undefined;
  if (f.pid) {
    e.pid = f.pid;
    info = l.process(f.pid);
    const comm = f.comm || info?.comm;
    if (comm) e.process = comm;
    if (info?.command) e.command = info.command;
  }

  const cgroup = (f.cgroupId ? l.cgroupPath(f.cgroupId) : undefined) ?? info?.cgroup;
  const container = cgroup ? parseCgroupPath(cgroup) : undefined;
  if (container) {
    e.container = container.id.slice(0, SHORT_ID);
    if (container.runtime) e.runtime = container.runtime;
  }

  const kube = isLoopback(ip) ? undefined : l.kube(ip);
  if (kube) {
    if (kube.namespace) e.namespace = kube.namespace;
    if (kube.pod) e.pod = kube.pod;
    if (kube.workload) e.workload = kube.workload;
    if (kube.workloadKind) e.workloadKind = kube.workloadKind;
  }

  const local = Boolean(f.netnsInode || f.pid) || l.isLocal(ip);
  if (kube?.node) e.node = kube.node;
  else if (local) e.node = l.hostname;

  const dns = l.dns(ip);
  if (dns) e.dns = dns;

  // The most specific thing known names the endpoint; nothing is made up.
  if (kube) {
    e.kind = kube.kind;
    e.name = kube.name;
  } else if (e.container) {
    e.kind = 'container';
    e.name = e.process ? `${e.process}@${e.container}` : e.container;
  } else if (e.process) {
    e.kind = 'process';
    e.name = e.process;
  } else if (inode && inode === l.hostNetns) {
    e.kind = 'node';
    e.name = l.hostname;
  } else if (netnsNamed) {
    e.kind = 'netns';
    e.name = e.netns!;
  } else if (!local) {
    e.kind = 'external';
    if (dns) e.name = dns;
  } else {
    e.kind = 'unknown';
  }
  return e;
}
