// The link table clients see: TCP links from the socket tracepoints and UDP links from the flow
// table, in one id order, with NAT undone where conntrack knows it (the link goes to the backend,
// the address the client dialled stays in details.vip).
import type { LinkRecord } from '../../protocol/index.js';
import { arrayWalk, walkOf, type ChangeKind, type LinkTable, type LiveTable, type RecordWalk } from './types.js';

export type NatOrigins = (serverIp: string, serverPort: number, protocol: 'tcp' | 'udp') => { ip: string; port: number }[];

const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/**
 * What NAT changes in a set of links. Links to a NATed backend get `details.vip` (the addresses
 * clients dialled, comma-separated). When the client is on this host too, its socket saw only the
 * VIP: that link (same client address, server = one of the backend's VIPs) is the same connections
 * seen from the other end, so it is folded into the backend link (its endpoint, with pid and
 * process, names the client; its failed connects are kept) instead of being counted twice.
 */
interface NatPlan {
  /** Backend link id → the addresses clients dialled, as details.vip gives them. */
  vips: Map<string, string>;
  /** Backend link id → the index of the client-side link folded into it, and whether its failures go there. */
  folded: Map<string, { at: number; failures: boolean }>;
  /** Indexes of the client-side links folded into a backend. */
  dropped: Set<number>;
}

type At = (i: number) => LinkRecord | undefined;

/** The plan for links 0..n-1 read through `at`; undefined when no link is NATed. */
function planNat(n: number, at: At, natOrigins: NatOrigins): NatPlan | undefined {
  const vips = new Map<string, string>();
  const backendsByVipClient = new Map<string, string[]>(); // "client>vip:port/proto" → backend link ids
  for (let i = 0; i < n; i++) {
    const l = at(i);
    if (l?.server.port === undefined) continue;
    const origins = natOrigins(l.server.ip, l.server.port, l.protocol);
    if (origins.length === 0) continue;
    vips.set(l.id, origins.map((o) => hostPort(o.ip, o.port)).sort().join(', '));
    for (const o of origins) {
      const key = `${l.client.ip}>${hostPort(o.ip, o.port)}/${l.protocol}`;
      const list = backendsByVipClient.get(key);
      if (list) list.push(l.id);
      else backendsByVipClient.set(key, [l.id]);
    }
  }
  if (vips.size === 0) return undefined;

  const folded = new Map<string, { at: number; failures: boolean }>();
  const dropped = new Set<number>();
  for (let i = 0; i < n; i++) {
    const l = at(i);
    if (l?.server.port === undefined || vips.has(l.id)) continue;
    const backends = backendsByVipClient.get(`${l.client.ip}>${hostPort(l.server.ip, l.server.port)}/${l.protocol}`);
    if (!backends) continue;
    // One VIP, several backends: the client-side link is named into each; its failures go to the first.
    const first = backends.reduce((a, b) => (a <= b ? a : b));
    for (const b of backends) if (!folded.has(b)) folded.set(b, { at: i, failures: b === first });
    dropped.add(i);
  }
  return { vips, folded, dropped };
}

/** A link as the plan changes it (a new record where it does). */
function natApplied(l: LinkRecord, plan: NatPlan, at: At): LinkRecord {
  const vip = plan.vips.get(l.id);
  if (vip === undefined) return l;
  const f = plan.folded.get(l.id);
  const from = f && at(f.at);
  return {
    ...l,
    client: from ? from.client : l.client,
    connections: from && f.failures ? { ...l.connections, failed: l.connections.failed + from.connections.failed } : l.connections,
    details: { ...l.details, vip },
  };
}

/**
 * TCP links read through `tcp`, NAT undone where `plan` says (the client-side links it folds left
 * out), merged with the UDP links into one id order (ids never collide: UDP's start with `udp:`).
 * Undefined when there is nothing to do.
 */
function combined(tcp: RecordWalk<LinkRecord>, udp: LinkRecord[], plan: NatPlan | undefined): RecordWalk<LinkRecord> | undefined {
  if (!plan && udp.length === 0) return undefined;
  // TCP's index i as i, UDP's j as -1 - j.
  const order: number[] = [];
  let i = 0;
  let j = 0;
  while (i < tcp.size || j < udp.length) {
    if (i < tcp.size && plan?.dropped.has(i)) i++;
    else if (j >= udp.length || (i < tcp.size && tcp.id(i) <= udp[j]!.id)) order.push(i++);
    else order.push(-1 - j++);
  }
  return {
    size: order.length,
    id: (k) => {
      const o = order[k]!;
      return o >= 0 ? tcp.id(o) : udp[-1 - o]!.id;
    },
    at: (k) => {
      const o = order[k]!;
      if (o < 0) return udp[-1 - o];
      const l = tcp.at(o);
      return l && plan ? natApplied(l, plan, tcp.at) : l;
    },
  };
}

/** Every link of a walk, in its order. */
function listOf(w: RecordWalk<LinkRecord>): LinkRecord[] {
  return Array.from({ length: w.size }, (_, k) => w.at(k)!);
}

// No copy where nothing changes: records() arrays are read, never changed (100,000 links make a
// copy 800 KB of old garbage).

/** The links with NAT undone (see NatPlan). */
export function withNat(links: LinkRecord[], natOrigins: NatOrigins): LinkRecord[] {
  const tcp = arrayWalk(links);
  const w = combined(tcp, [], planNat(tcp.size, tcp.at, natOrigins));
  return w ? listOf(w) : links;
}

/** TCP and UDP links, each already in id order, merged into one id order. */
export function mergeLinks(tcp: LinkRecord[], udp: LinkRecord[]): LinkRecord[] {
  const w = combined(arrayWalk(tcp), udp, undefined);
  return w ? listOf(w) : tcp;
}

/** topology when the set of ids moved, figures when only a record's content did, none otherwise. */
export function changeBetween(before: readonly LinkRecord[], after: readonly LinkRecord[]): ChangeKind | undefined {
  if (before.length !== after.length) return 'topology';
  let figures = false;
  for (let i = 0; i < after.length; i++) {
    if (before[i]!.id !== after[i]!.id) return 'topology';
    if (!figures && JSON.stringify(before[i]) !== JSON.stringify(after[i])) figures = true;
  }
  return figures ? 'figures' : undefined;
}

export interface CombinedLinksOptions {
  tcp: LinkTable;
  /** UDP links as of now (e.g. the flow collector's udpLinks(listeners)), sorted by id. */
  udp?: () => LinkRecord[];
  /** Fires when the records behind udp() changed (e.g. the flow table's onChange). */
  udpChanged?: LiveTable<{ id: string }>['onChange'];
  natOrigins?: NatOrigins;
}

export class CombinedLinks implements LinkTable {
  private udp: LinkRecord[] = [];
  /** vip details per link id as last told to listeners, so a VIP learned later is announced. */
  private vips = new Map<string, string>();
  private readonly listeners = new Set<(kind: ChangeKind) => void>();
  private readonly unlisten: (() => void)[] = [];

  constructor(private readonly o: CombinedLinksOptions) {
    this.udp = o.udp?.() ?? [];
    this.unlisten.push(o.tcp.onChange((kind) => this.emit(kind)));
    if (o.udpChanged) this.unlisten.push(o.udpChanged(() => this.refreshUdp()));
  }

  records(): LinkRecord[] {
    const tcp = this.o.natOrigins ? withNat(this.o.tcp.records(), this.o.natOrigins) : this.o.tcp.records();
    return mergeLinks(tcp, this.udp);
  }

  /** records() read one at a time: the TCP table's records are built as read, none kept here. */
  walk(): RecordWalk<LinkRecord> {
    const tcp = walkOf(this.o.tcp);
    return combined(tcp, this.udp, this.o.natOrigins ? planNat(tcp.size, tcp.at, this.o.natOrigins) : undefined) ?? tcp;
  }

  size(): number {
    return this.o.tcp.size() + this.udp.length;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Builds the UDP links again (flows drained, or the listening ports changed) and tells what moved. */
  refreshUdp(): void {
    if (!this.o.udp) return;
    const next = this.o.udp();
    const kind = changeBetween(this.udp, next);
    this.udp = next;
    if (kind) this.emit(kind);
  }

  /**
   * Looks at NAT again: conntrack learns a VIP on its own schedule, not on a table change, so the
   * owner calls this now and then; a link that gained, lost or folded a VIP is a topology change.
   */
  refreshNat(): void {
    if (!this.o.natOrigins) return;
    const tcp = walkOf(this.o.tcp);
    const next = planNat(tcp.size, tcp.at, this.o.natOrigins)?.vips ?? new Map<string, string>();
    const same = next.size === this.vips.size && [...next].every(([id, v]) => this.vips.get(id) === v);
    this.vips = next;
    if (!same) this.emit('topology');
  }

  close(): void {
    for (const u of this.unlisten.splice(0)) u();
  }

  private emit(kind: ChangeKind): void {
    for (const l of this.listeners) l(kind);
  }
}
