// The flow table: what TC saw per 5-tuple, interface and direction. Fed one drain at a time (every
// entry the kernel map held since the previous drain, plus ring-buffer overflow records), it adds
// each drain's figures to the live records, marks copies of the same packets seen on several
// interfaces as duplicates, ends flows idle for idleTimeoutMs and forgets them historyMs later.
import type { FlowProtocol, FlowRecord } from '../../protocol/index.js';
import type { FlowKey, FlowSample } from '../kernel/flows-layout.js';
import type { Resolver } from '../resolve/types.js';
import { byId } from '../../protocol/record-order.js';
import { findDuplicates } from './flows-duplicates.js';
import { RateWindow } from './flows-rates.js';
import { NAMES_FOR_MS } from './names-age.js';
import { sameJson } from '../../protocol/same-json.js';
import type { ChangeKind, FlowTable } from './types.js';

/** Where an interface is, as the collector attached it. */
export interface FlowInterface {
  name: string;
  /** Named netns, absent = the collector's own. */
  netns?: string;
  closeness: number;
}

export interface FlowStoreOptions {
  /** A flow without packets for this long has ended (its rate is 0). */
  idleTimeoutMs: number;
  /** An ended flow stays in the table this long after its last packet. */
  historyMs: number;
  rateWindowMs?: number;
  /** Most records kept (default 200,000): beyond it the longest-idle go first, ended ones before live ones. */
  maxFlows?: number;
  /** 1 in N packets counted in the kernel; carried on every record. */
  sampling?: number;
  /** CLOCK_MONOTONIC ns (bpf_ktime_get_coarse_ns in flows.bpf.c) to epoch ms. */
  toEpochMs(ns: number): number;
  /** Interface by (netns inode, ifindex); undefined for one never attached (its samples are dropped and counted). */
  lookupInterface(netnsInode: number, ifindex: number): FlowInterface | undefined;
  resolver?: Resolver;
}

interface Entry {
  record: FlowRecord;
  rate: RateWindow;
  ended: boolean;
  /** When the resolver last named the record's ends (kept NAMES_FOR_MS). */
  namedAtMs: number;
}

const PROTOCOLS: Record<number, FlowProtocol> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

export function flowId(s: FlowKey, iface: string): string {
  return `${s.netnsInode}/${iface}/${s.direction}/${s.proto}/${s.src}/${s.srcPort}/${s.dst}/${s.dstPort}`;
}

export class FlowStore implements FlowTable {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(kind: ChangeKind) => void>();
  /** The entries in id order and their records, until a flow comes or goes (records change in place). */
  private order: Entry[] | undefined;
  private recs: FlowRecord[] | undefined;
  /** The records' rates and names are as of the last change. */
  private fresh = false;
  /** Samples from interfaces nobody attached (cannot happen unless state was lost). */
  unknownInterfaceSamples = 0;
  /** Records dropped to stay within maxFlows. */
  evicted = 0;

  constructor(private readonly opts: FlowStoreOptions) {}

  /** One drain's samples (each key at most once per interface and direction), seen at nowMs. */
  ingest(samples: readonly FlowSample[], nowMs: number): void {
    const located: { s: FlowSample; iface: FlowInterface }[] = [];
    for (const s of samples) {
      const iface = this.opts.lookupInterface(s.netnsInode, s.ifindex);
      if (iface) located.push({ s, iface });
      else this.unknownInterfaceSamples += 1;
    }
    const dups = findDuplicates(located.map(({ s, iface }) => ({ ...s, closeness: iface.closeness })));
    let topology = false;
    located.forEach(({ s, iface }, i) => {
      const id = flowId(s, iface.name);
      let e = this.entries.get(id);
      if (!e) {
        e = { record: this.newRecord(id, s, iface), rate: new RateWindow(this.opts.rateWindowMs ?? 10_000, this.opts.toEpochMs(s.firstNs)), ended: false, namedAtMs: 0 };
        this.entries.set(id, e);
        topology = true;
      } else {
        const r = e.record;
        r.packets += s.packets;
        r.bytes += s.bytes;
        r.payloadBytes += s.payloadBytes;
        r.tcpFlags |= s.tcpFlags;
        r.lastSeen = Math.max(r.lastSeen, this.opts.toEpochMs(s.lastNs));
        r.firstSeen = Math.min(r.firstSeen, this.opts.toEpochMs(s.firstNs));
        if (e.ended) topology = true;
        e.ended = false;
      }
      // Sticky: once these packets were seen closer to a workload elsewhere, this copy stays a copy.
      if (dups.has(i) && !e.record.duplicate) {
        e.record.duplicate = true;
        topology = true;
      }
      e.rate.add(nowMs, e.record.bytes);
    });
    topology = this.expire(nowMs) || topology;
    if (located.length > 0 || topology) this.changed(topology ? 'topology' : 'figures');
    else this.fresh = false; // rates still move as the window slides
  }

  /** Ends idle flows and forgets old ended ones; true when the set of records changed. */
  private expire(nowMs: number): boolean {
    let topology = false;
    for (const [id, e] of this.entries) {
      const idle = nowMs - e.record.lastSeen;
      if (idle > this.opts.idleTimeoutMs + this.opts.historyMs) {
        this.entries.delete(id);
        topology = true;
      } else if (!e.ended && idle > this.opts.idleTimeoutMs) {
        e.ended = true;
        topology = true;
      }
    }
    const max = this.opts.maxFlows ?? 200_000;
    if (this.entries.size > max) {
      const order = [...this.entries].sort(([, a], [, b]) => Number(b.ended) - Number(a.ended) || a.record.lastSeen - b.record.lastSeen);
      for (const [id] of order.slice(0, this.entries.size - max)) this.entries.delete(id);
      this.evicted += order.length - max;
      topology = true;
    }
    return topology;
  }

  /** Expiry without new samples (e.g. a quiet host); call on the drain cadence. */
  tick(nowMs: number): void {
    if (this.expire(nowMs)) this.changed('topology');
  }

  records(): FlowRecord[] {
    if (!this.fresh) {
      const now = Date.now();
      this.order ??= [...this.entries.values()].sort((a, b) => byId(a.record, b.record));
      for (const e of this.order) this.present(e, now);
      this.recs ??= this.order.map((e) => e.record);
      this.fresh = true;
    }
    return this.recs!;
  }

  /** Flows still live (not ended by the idle timeout). */
  liveCount(): number {
    let n = 0;
    for (const e of this.entries.values()) if (!e.ended) n += 1;
    return n;
  }

  size(): number {
    return this.entries.size;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(kind: ChangeKind): void {
    this.fresh = false;
    if (kind === 'topology') {
      this.order = undefined;
      this.recs = undefined;
    }
    for (const l of this.listeners) l(kind);
  }

  private newRecord(id: string, s: FlowSample, iface: FlowInterface): FlowRecord {
    return {
      id,
      src: s.src,
      dst: s.dst,
      srcPort: s.srcPort,
      dstPort: s.dstPort,
      protocol: PROTOCOLS[s.proto] ?? 'other',
      interface: iface.name,
      ifindex: s.ifindex,
      ...(iface.netns !== undefined ? { netns: iface.netns } : {}),
      direction: s.direction,
      packets: s.packets,
      bytes: s.bytes,
      payloadBytes: s.payloadBytes,
      tcpFlags: s.tcpFlags,
      rate: 0,
      firstSeen: this.opts.toEpochMs(s.firstNs),
      lastSeen: this.opts.toEpochMs(s.lastNs),
      sampling: this.opts.sampling ?? 1,
      // Present from the start (JSON leaves them out while undefined): a copy given them later
      // got a hidden class of its own, 100,000 of them a read.
      srcEndpoint: undefined,
      dstEndpoint: undefined,
    };
  }

  /** The record's rate as of `now`, and its ends named again once their names are NAMES_FOR_MS old. */
  private present(e: Entry, now: number): void {
    const r = e.record;
    r.rate = e.ended ? 0 : e.rate.rate(now);
    const resolver = this.opts.resolver;
    if (!resolver || (r.srcEndpoint && r.dstEndpoint && now - e.namedAtMs < NAMES_FOR_MS)) return;
    const ported = r.protocol === 'tcp' || r.protocol === 'udp';
    const src = resolver.resolve(ported ? { ip: r.src, port: r.srcPort } : { ip: r.src });
    const dst = resolver.resolve(ported ? { ip: r.dst, port: r.dstPort } : { ip: r.dst });
    // Unchanged names keep their objects.
    if (!sameJson(src, r.srcEndpoint)) r.srcEndpoint = src;
    if (!sameJson(dst, r.dstEndpoint)) r.dstEndpoint = dst;
    e.namedAtMs = now;
  }

}
