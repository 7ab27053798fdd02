// The link table clients see: TCP links from the socket tracepoints and UDP links from the flow
// table, in one id order, with NAT undone where conntrack knows it (the link goes to the backend,
// the address the client dialled stays in details.vip).
import type { LinkRecord } from '../../protocol/index.js';
import type { ChangeKind, LinkTable, LiveTable } from './types.js';
import { byId } from '../../protocol/record-order.js';

export type NatOrigins = (serverIp: string, serverPort: number, protocol: 'tcp' | 'udp') => { ip: string; port: number }[];

const hostPort = (ip: string, port: number): string => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/**
 * Links to a NATed backend get `details.vip` (the addresses clients dialled, comma-separated).
 * When the client is on this host too, its socket saw only the VIP: that link (same client
 * address, server = one of the backend's VIPs) is the same connections seen from the other end,
 * so it is folded into the backend link (its endpoint, with pid and process, names the client; its
 * failed connects are kept) instead of being counted twice.
 */
export function withNat(links: LinkRecord[], natOrigins: NatOrigins): LinkRecord[] {
  const vips = new Map<string, string[]>(); // backend link id → "ip:port" dialled
  const backendsByVipClient = new Map<string, LinkRecord[]>(); // "client>vip:port/proto" → backend links
  for (const l of links) {
    if (l.server.port === undefined) continue;
    const origins = natOrigins(l.server.ip, l.server.port, l.protocol);
    if (origins.length === 0) continue;
    vips.set(l.id, origins.map((o) => hostPort(o.ip, o.port)).sort());
    for (const o of origins) {
      const key = `${l.client.ip}>${hostPort(o.ip, o.port)}/${l.protocol}`;
      const list = backendsByVipClient.get(key);
      if (list) list.push(l);
      else backendsByVipClient.set(key, [l]);
    }
  }
  // No copy: records() arrays are read, never changed (100,000 links make a copy 800 KB of old garbage).
  if (vips.size === 0) return links;

  const folded = new Map<string, LinkRecord>(); // backend link id → client-side link folded into it
  const dropped = new Set<string>();
  for (const l of links) {
    if (l.server.port === undefined || vips.has(l.id)) continue;
    const backends = backendsByVipClient.get(`${l.client.ip}>${hostPort(l.server.ip, l.server.port)}/${l.protocol}`);
    if (!backends) continue;
    // One VIP, several backends: the client-side link is named into each; its failures go to the first.
    const first = backends.reduce((a, b) => (a.id <= b.id ? a : b));
    if (!folded.has(first.id)) folded.set(first.id, l);
    for (const b of backends) if (b !== first && !folded.has(b.id)) folded.set(b.id, { ...l, connections: { ...l.connections, failed: 0 } });
    dropped.add(l.id);
  }

  const out: LinkRecord[] = [];
  for (const l of links) {
    if (dropped.has(l.id)) continue;
    const vip = vips.get(l.id);
    if (!vip) {
      out.push(l);
      continue;
    }
    const from = folded.get(l.id);
    out.push({
      ...l,
      client: from ? from.client : l.client,
      connections: from ? { ...l.connections, failed: l.connections.failed + from.connections.failed } : l.connections,
      details: { ...l.details, vip: vip.join(', ') },
    });
  }
  return out;
}

/** TCP and UDP links, each already in id order, merged into one id order (ids never collide: UDP's start with `udp:`). */
export function mergeLinks(tcp: LinkRecord[], udp: LinkRecord[]): LinkRecord[] {
  if (udp.length === 0) return tcp;
  const out: LinkRecord[] = new Array<LinkRecord>(tcp.length + udp.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < tcp.length && j < udp.length) out[k++] = byId(tcp[i]!, udp[j]!) <= 0 ? tcp[i++]! : udp[j++]!;
  while (i < tcp.length) out[k++] = tcp[i++]!;
  while (j < udp.length) out[k++] = udp[j++]!;
  return out;
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
    const next = new Map<string, string>();
    for (const l of withNat(this.o.tcp.records(), this.o.natOrigins)) if (l.details?.vip !== undefined) next.set(l.id, l.details.vip);
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
