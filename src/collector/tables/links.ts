// The link table: socket views of TCP connections (live from the kernel map; closed ones added up
// per link in the kernel, or one by one from the ring buffer; and those open before the collector
// started) folded into client → server:port links.
// Pure: it is fed decoded records and a clock, and never touches the kernel itself.
import type { Endpoint, LinkRecord } from '../../protocol/index.js';
import type { EndpointFacts, Resolver } from '../resolve/types.js';
import type { ChangeKind, LinkTable, RecordWalk } from './types.js';
import type { CloseRecord, ConnView, FoldRecord, ServerSlot } from '../kernel/links-records.js';
import { finalCounts } from './links-accounting.js';
import { addRateSample, rateOf } from './links-rates.js';
import { COL, FLAG, LinkColumns, U32 } from './link-columns.js';
import { CONN, CONN_FLAG, CONN_U32, ConnColumns } from './conn-columns.js';
import { AgingMap } from './aging-map.js';
import { decideRole, ListenerIndex, type Listener, type SocketTuple } from './links-roles.js';
import { isLoopback } from './address.js';
import { sameJson } from '../../protocol/same-json.js';
import { existingView, socketKey } from './links-existing.js';
import { flat } from './flat.js';
import { unnamedNetns } from '../resolve/name-endpoint.js';
import { NAMES_FOR_MS } from './names-age.js';
import { SharedEndpoints } from './shared-endpoints.js';
import { connectionCounts } from './connection-counts.js';

export interface LinkTableOptions {
  /** A link with no open connection leaves the table after this long without activity. */
  idleTimeoutMs?: number;
  rateWindowMs?: number;
  resolver?: Resolver;
  /** Connections left out (the collector's own). */
  exclude?: { pids?: number[]; serverPorts?: number[] };
  /** Epoch milliseconds of a bpf_ktime_get_ns() value (CLOCK_MONOTONIC). */
  monoToEpochMs?: (ns: bigint) => number;
  /**
   * A connection gone from the kernel map whose close record has not come after this long is
   * given up: its last counts stay in the link, but it is not counted as closed (the ring buffer's
   * loss counter says why).
   */
  vanishGraceMs?: number;
  /**
   * false on kernels without sock_send_length/sock_recv_length (before 6.3): bytes come from the
   * kernel's counters at close only, which is then the figure rather than a correction.
   */
  payloadTraced?: boolean;
}

export interface LinkTableStats {
  /** Directions whose traced byte count the kernel's own counter corrected at close. */
  corrections: number;
  /** Connections that left the kernel map without a close record (ring buffer loss). */
  vanished: number;
  /** Connections known from the socket table at start and not yet seen by the tracer. */
  preexisting: number;
  /** Views of sockets on this host, live now. */
  liveViews: number;
  /** Entries of the table's own bookkeeping (recent closes, client tuples): bounded in time. */
  bookkeeping: number;
}

interface Side {
  ip: string;
  netns?: number;
  pid?: number;
  comm?: string;
  cgroupId?: number;
}

type SideName = 'client' | 'server';

/** Where a side's numbers sit in a link's row. */
const SIDE_COLS = {
  client: { netns: U32.clientNetns, pid: U32.clientPid, cgroupId: COL.clientCgroup },
  server: { netns: U32.serverNetns, pid: U32.serverPid, cgroupId: COL.serverCgroup },
} as const;

interface Classified {
  role: 'client' | 'server';
  tuple: string;
  counting: boolean;
  linkId: string | undefined;
  client: Side;
  server: Side;
  port: number;
  /** Payload in link orientation. */
  sent: number;
  received: number;
}

const DEFAULTS = { idleTimeoutMs: 5 * 60_000, rateWindowMs: 10_000, vanishGraceMs: 5_000 };

/**
 * A link is a slot: its numbers in the table's columns (LinkColumns), its strings and record in
 * arrays indexed by the slot. An open connection (a socket view, bytes oriented client → server)
 * is a slot of its own (ConnColumns) and its key; a link's open connections are a list through
 * their rows. No object per link but its record, none per connection.
 */
export class LinkTableState implements LinkTable {
  /** Link id → slot. */
  private readonly links = new Map<string, number>();
  private readonly cols = new LinkColumns();
  private readonly ids: (string | undefined)[] = [];
  private readonly ips: Record<SideName, (string | undefined)[]> = { client: [], server: [] };
  private readonly comms: Record<SideName, (string | undefined)[]> = { client: [], server: [] };
  /** Each link's endpoints as last named (a server's is shared with the other links to it). */
  private readonly clientOf: (Endpoint | undefined)[] = [];
  private readonly serverOf: (Endpoint | undefined)[] = [];
  /**
   * Records handed out by records(), changed in place when a figure moves (a nested object is
   * replaced, never changed), so a poll where every link moved makes no garbage of 100,000
   * records. Empty where only walk() is read (the privileged parent's feed): a record is then
   * built from its row when read, and the table holds none (about 180 bytes a link).
   */
  private readonly recordOf: (LinkRecord | undefined)[] = [];
  private readonly servers = new SharedEndpoints();
  /** Socket key → the connection's slot. */
  private readonly conns = new Map<string, number>();
  private readonly conn = new ConnColumns();
  private readonly connKeys: (string | undefined)[] = [];
  /** Views seen open that closed or vanished: a batch read racing a close must not bring them back. */
  private readonly closedKeys = new Map<string, number>();
  /** Every close since the last poll, and in the poll before: what a racing batch read may still hold. */
  private closedSincePoll = new Set<string>();
  private closedPollBefore = new Set<string>();
  /** Client tuples → link id, so the server view of a local connection finds its link. */
  private readonly clientTuples: AgingMap<string, string>;
  /** Pre-existing connections by (netns, local, remote), until the tracer sees them. */
  private readonly pseudoByMatch = new Map<string, string>();
  /** Until the socket table is in: sockets already closed, whose entries in it would be stale. */
  private readonly closedMatches = new Map<string, number>();
  private seeded = false;
  private listeners = new ListenerIndex();
  private readonly listenersFns = new Set<(kind: ChangeKind) => void>();
  private readonly opts: Required<Omit<LinkTableOptions, 'resolver' | 'exclude'>> & Pick<LinkTableOptions, 'resolver'>;
  private readonly excludedPids: Set<number>;
  private readonly excludedPorts: Set<number>;
  private corrections = 0;
  private vanished = 0;
  /** Slots of links whose figures may have moved since the last commit (FLAG.dirty set). */
  private readonly dirty: number[] = [];
  private dirtyCount = 0;
  private topologyChanged = false;
  /**
   * The ids in id order, then for records() their slots and records: new arrays when a link comes
   * or goes, never changed.
   */
  private sortedIds: string[] | undefined;
  private sorted: number[] | undefined;
  private recs: LinkRecord[] | undefined;
  /** Counts reads of the kernel's map: a connection not seen in the last one has left it. */
  private poll = 0;
  /** The time of the last change taken in. */
  private nowMs = 0;

  constructor(options: LinkTableOptions = {}) {
    this.opts = {
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      rateWindowMs: options.rateWindowMs ?? DEFAULTS.rateWindowMs,
      vanishGraceMs: options.vanishGraceMs ?? DEFAULTS.vanishGraceMs,
      monoToEpochMs: options.monoToEpochMs ?? ((ns) => Number(ns / 1_000_000n)),
      payloadTraced: options.payloadTraced ?? true,
      resolver: options.resolver,
    };
    for (const [name, v] of Object.entries({ idleTimeoutMs: this.opts.idleTimeoutMs, rateWindowMs: this.opts.rateWindowMs, vanishGraceMs: this.opts.vanishGraceMs })) {
      if (!(v > 0)) throw new Error(`links: ${name} must be more than 0 ms, got ${v}`);
    }
    this.excludedPids = new Set(options.exclude?.pids ?? []);
    this.excludedPorts = new Set(options.exclude?.serverPorts ?? []);
    // Kept only as long as a late read or record may need them (a live client's tuple is set
    // again at every poll).
    this.clientTuples = new AgingMap(this.opts.vanishGraceMs * 4);
  }

  /** The socket table read at start: listeners decide roles, connections show until traced. */
  seedExisting(listeners: Listener[], connections: SocketTuple[], nowMs: number): void {
    this.seeded = true;
    this.listeners = new ListenerIndex(
      listeners,
      connections.map((c) => ({ netns: c.netns, ip: c.localIp })),
    );
    this.clientsFirst([connections.map(existingView)], (c) => {
      const match = socketKey(c);
      if (this.pseudoByMatch.has(match) || this.closedMatches.has(match)) return;
      if (this.upsertLive(c, nowMs, true) !== undefined) this.pseudoByMatch.set(match, c.key);
    });
    this.closedMatches.clear();
    this.commit(nowMs, true);
  }

  /**
   * A whole read of the kernel's map of open connections, with the folds drained just before it:
   * closed client connections the kernel added up per link and client process. One commit for
   * both, so nobody sees a connection both open and in its fold.
   */
  updateLive(views: ConnView[], nowMs: number, folds: FoldRecord[] = [], servers: ServerSlot[] = []): void {
    this.updateLiveChunks([views], nowMs, folds, servers);
  }

  /**
   * The same read in chunks, decoded as they are taken: at 100,000 connections a poll, views made
   * and dropped a thousand at a time die young, where a whole read's lived on into V8's old
   * generation (about 50 MB of garbage a poll).
   */
  updateLiveChunks(chunks: Iterable<ConnView[]>, nowMs: number, folds: FoldRecord[] = [], servers: ServerSlot[] = []): void {
    this.addFolds(folds, nowMs);
    const poll = ++this.poll;
    this.clientsFirst(chunks, (v) => this.liveView(v, nowMs, poll));
    for (const s of servers) if (s.pid) this.serverProcess(s.clientKey, s.pid, s.comm);
    // Deleting the entry being visited is safe in a Map's iteration.
    for (const c of this.conns.values()) {
      if (this.connIs(c, CONN_FLAG.pseudo) || this.conn.u32(c, CONN_U32.seen) === poll) continue;
      // The kernel deleted it before adding its final counts to the fold of this poll or the next
      // (or, when the fold map was full, to a close record, which then counts it).
      if (this.connIs(c, CONN_FLAG.folded)) {
        this.removeConn(c);
        continue;
      }
      let since = this.conn.get(c, CONN.missingSinceMs);
      if (Number.isNaN(since)) this.conn.set(c, CONN.missingSinceMs, (since = nowMs));
      if (nowMs - since >= this.opts.vanishGraceMs) this.vanish(c);
    }
    this.closedPollBefore = this.closedSincePoll;
    this.closedSincePoll = new Set();
    this.commit(nowMs, true);
  }

  private liveView(v: ConnView, nowMs: number, poll: number): void {
    if (this.closedKeys.has(v.key) || this.closedSincePoll.has(v.key) || this.closedPollBefore.has(v.key)) return;
    this.dropPseudo(v);
    let c: number | undefined;
    if (v.role === 'server' && v.peerLocal) {
      if (v.hasPid) this.serverProcess(v.peerKey, v.pid, v.comm);
      c = this.conns.get(v.key);
    } else c = this.upsertLive(v, nowMs, false);
    if (c !== undefined) this.conn.setU32(c, CONN_U32.seen, poll);
  }

  /**
   * A local pair's server counts nothing (its client view carries the connection), but while it
   * is open its own entry or slot is where the server's process is: the kernel hands it to the
   * client entry only when one of the two closes.
   */
  private serverProcess(clientKey: string, pid: number, comm: string): void {
    const c = this.conns.get(clientKey);
    const slot = c === undefined ? -1 : this.linkOf(c);
    if (slot < 0 || (this.cols.u32(slot, U32.serverPid) === pid && this.comms.server[slot] === comm)) return;
    this.cols.setU32(slot, U32.serverPid, pid);
    this.comms.server[slot] = comm;
    this.flag(slot, FLAG.sidesChanged);
    this.markDirty(slot);
  }

  /** Connections that closed, with their final counts. */
  addClosed(records: CloseRecord[], nowMs: number): void {
    for (const r of records) {
      const v = r.view;
      if (this.closedKeys.has(v.key)) continue;
      this.closedSincePoll.add(v.key);
      if (!this.seeded) this.closedMatches.set(socketKey(v), nowMs);
      const live = this.conns.get(v.key);
      if (live !== undefined) {
        this.removeConn(live);
        this.closedKeys.set(v.key, nowMs);
      }
      this.dropPseudo(v);
      const final = finalCounts(r);
      if (this.opts.payloadTraced) this.corrections += final.corrections;
      const k = this.classify(v, final);
      if (!k) continue;
      const slot = this.linkFor(k, v, nowMs);
      if (slot === undefined) continue;
      if (k.counting) {
        if (v.established) {
          this.count(slot, COL.closed, 1);
          this.cols.add(slot, COL.closedSent, k.sent);
          this.cols.add(slot, COL.closedReceived, k.received);
        } else if (k.role === 'client') {
          this.count(slot, COL.failed, 1);
        }
      }
      this.cols.add(slot, COL.closedRetransmits, v.retransmits + v.peerRetransmits);
      if (v.srttUs > 0) this.figure(slot, COL.rttUs, v.srttUs);
      this.seen(slot, this.opts.monoToEpochMs(r.endNs));
    }
    this.commit(nowMs, false);
  }

  private addFolds(folds: FoldRecord[], nowMs: number): void {
    for (const f of folds) {
      if (this.opts.payloadTraced) this.corrections += f.corrections;
      const v = foldView(f);
      const k = this.classify(v);
      if (!k) continue;
      const slot = this.linkFor(k, v, nowMs);
      if (slot === undefined) continue;
      this.count(slot, COL.closed, f.closed);
      this.count(slot, COL.failed, f.failed);
      this.cols.add(slot, COL.closedSent, f.bytesSent);
      this.cols.add(slot, COL.closedReceived, f.bytesReceived);
      this.cols.add(slot, COL.closedRetransmits, f.retransmits);
      if (f.srttUs > 0) this.figure(slot, COL.rttUs, f.srttUs);
      this.seen(slot, this.opts.monoToEpochMs(f.lastNs));
    }
  }

  /** Ages out idle links and forgets old bookkeeping. */
  expire(nowMs: number): void {
    for (const [id, slot] of this.links) {
      if (this.cols.u32(slot, U32.firstConn) === 0 && nowMs - this.cols.get(slot, COL.lastSeen) > this.opts.idleTimeoutMs) this.deleteLink(id);
    }
    // Both grow with every connection: kept only as long as a late read or record may need them.
    const keep = this.opts.vanishGraceMs * 4;
    for (const [k, at] of this.closedKeys) if (nowMs - at > keep) this.closedKeys.delete(k);
    this.clientTuples.expire(nowMs);
    for (const [k, at] of this.closedMatches) if (nowMs - at > keep) this.closedMatches.delete(k);
    this.commit(nowMs, false);
  }

  stats(): LinkTableStats {
    return {
      corrections: this.corrections,
      vanished: this.vanished,
      preexisting: this.pseudoByMatch.size,
      liveViews: this.conns.size,
      bookkeeping: this.closedKeys.size + this.closedSincePoll.size + this.closedPollBefore.size + this.clientTuples.size + this.closedMatches.size,
    };
  }

  records(): LinkRecord[] {
    const slots = (this.sorted ??= this.order().map((id) => this.links.get(id)!));
    this.recs ??= slots.map((s) => (this.recordOf[s] ??= this.build(s)));
    // Records change in place: naming them again leaves the array as it is.
    if (this.opts.resolver) for (const s of slots) this.named(s);
    return this.recs;
  }

  /** The records in id order, each built when read; what records() has handed out is read as it is. */
  walk(): RecordWalk<LinkRecord> {
    const ids = this.order();
    return {
      size: ids.length,
      id: (i) => ids[i]!,
      at: (i) => {
        // By id, not slot: the link may have left since, and its slot gone to another.
        const slot = this.links.get(ids[i]!);
        if (slot === undefined) return undefined;
        this.named(slot);
        return this.recordOf[slot] ?? this.build(slot);
      },
    };
  }

  /** The ids in id order. */
  private order(): string[] {
    return (this.sortedIds ??= [...this.links.keys()].sort());
  }

  /** A link came or went: the orders are made again when next read. */
  private topologyMoved(): void {
    this.sortedIds = undefined;
    this.sorted = undefined;
    this.recs = undefined;
    this.topologyChanged = true;
  }

  size(): number {
    return this.links.size;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listenersFns.add(listener);
    return () => this.listenersFns.delete(listener);
  }

  private upsertLive(v: ConnView, nowMs: number, pseudo: boolean): number | undefined {
    const k = this.classify(v);
    if (!k) return undefined;
    let c = this.conns.get(v.key);
    const slot = this.linkFor(k, v, nowMs);
    if (c === undefined) {
      c = this.conn.take();
      this.connKeys[c] = v.key;
      if (pseudo) this.conn.setU32(c, CONN_U32.flags, CONN_FLAG.pseudo);
      else if (v.role === 'client') this.conn.setU32(c, CONN_U32.flags, CONN_FLAG.folded);
      this.conns.set(v.key, c);
    }
    if (slot !== undefined && this.linkOf(c) !== slot) {
      this.detach(c, true);
      this.attach(c, slot);
    }
    // The kernel does not date sends and receives: counts that moved since the last read did now.
    const moved = this.conn.get(c, CONN.sent) !== k.sent || this.conn.get(c, CONN.received) !== k.received;
    this.setConnFlag(c, CONN_FLAG.counting, k.counting);
    this.setConnFlag(c, CONN_FLAG.established, v.established);
    this.conn.set(c, CONN.sent, k.sent);
    this.conn.set(c, CONN.received, k.received);
    this.conn.set(c, CONN.retransmits, v.retransmits + v.peerRetransmits);
    this.conn.set(c, CONN.missingSinceMs, NaN);
    if (slot !== undefined) {
      if (v.srttUs > 0) this.figure(slot, COL.rttUs, v.srttUs);
      if (!pseudo) this.seen(slot, moved ? nowMs : this.opts.monoToEpochMs(v.lastNs));
    }
    return c;
  }

  private roleOf(v: ConnView): 'client' | 'server' {
    if (v.role !== 'unknown') return v.role;
    return decideRole({ netns: v.netns, localIp: v.localIp, localPort: v.localPort, remoteIp: v.remoteIp, remotePort: v.remotePort }, this.listeners);
  }

  /**
   * Takes client views as they come and the others after all of them, so the server view of the
   * same local connection finds their tuple.
   */
  private clientsFirst(chunks: Iterable<ConnView[]>, take: (v: ConnView) => void): void {
    const later: ConnView[] = [];
    for (const chunk of chunks) {
      for (const v of chunk) {
        if (this.roleOf(v) === 'client') take(v);
        else later.push(v);
      }
    }
    for (const v of later) take(v);
  }

  /** Which link a view belongs to and whether its bytes count; undefined when excluded. */
  private classify(v: ConnView, bytes: { bytesSent: number; bytesReceived: number } = v): Classified | undefined {
    // The client view of this connection carries everything of this one.
    if (v.role === 'server' && v.peerLocal) return undefined;
    const role = this.roleOf(v);
    const local = side(v.localIp, v.netns, v.hasPid ? v.pid : 0, v.comm, v.cgroupId);
    const remote = side(v.remoteIp, v.peerNetns, v.peerPid, v.peerComm, 0);
    const client = role === 'client' ? local : remote;
    const server = role === 'client' ? remote : local;
    const port = role === 'client' ? v.remotePort : v.localPort;
    if (this.excludedPorts.has(port)) return undefined;
    if (v.hasPid && this.excludedPids.has(v.pid)) return undefined;
    const loopNs = isLoopback(v.localIp) ? `@${v.netns}` : '';
    const tuple =
      role === 'client'
        ? flat(v.localIp, ':', v.localPort, '>', v.remoteIp, ':', v.remotePort, loopNs)
        : flat(v.remoteIp, ':', v.remotePort, '>', v.localIp, ':', v.localPort, loopNs);
    const counting = role === 'client' || !(v.peerLocal || this.clientTuples.has(tuple));
    let linkId: string | undefined;
    if (role === 'client') linkId = flat('tcp:', v.netns, '/', client.ip, '>', server.ip, ':', port);
    else if (counting) linkId = flat('tcp:', client.ip, '>', v.netns, '/', server.ip, ':', port);
    else linkId = this.clientTuples.get(tuple);
    return {
      role,
      tuple,
      counting,
      linkId,
      client,
      server,
      port,
      sent: role === 'client' ? bytes.bytesSent : bytes.bytesReceived,
      received: role === 'client' ? bytes.bytesReceived : bytes.bytesSent,
    };
  }

  /** The slot of a classified view's link, made when a counting view is the first to name it. */
  private linkFor(k: Classified, v: ConnView, nowMs: number): number | undefined {
    if (!k.linkId) return undefined;
    let slot = this.links.get(k.linkId);
    const startMs = v.startNs > 0n ? this.opts.monoToEpochMs(v.startNs) : nowMs;
    if (slot === undefined) {
      if (!k.counting) return undefined;
      slot = this.cols.take();
      this.ids[slot] = k.linkId;
      this.mergeSide(slot, 'client', k.client);
      this.mergeSide(slot, 'server', k.server);
      this.cols.setU32(slot, U32.port, k.port);
      this.cols.set(slot, COL.firstSeen, startMs);
      this.cols.set(slot, COL.lastSeen, startMs);
      this.links.set(k.linkId, slot);
      this.topologyMoved();
    }
    let moved = false;
    if (k.role === 'client') {
      moved = this.mergeSide(slot, 'client', k.client);
      // The local server's process, when the client view has it from the kernel.
      moved = this.mergeSide(slot, 'server', k.server) || moved;
      // Only needed when a server view of this connection may still come on its own: not when
      // the kernel already paired the two ends (peerNetns known), nor for folds (no port), nor
      // when the server's address is not on this host (a tuple and its entry, about 90 bytes a link).
      if (!v.peerNetns && v.key && this.mayBeHere(k.server.ip)) this.clientTuples.set(k.tuple, this.ids[slot]!, nowMs);
    } else {
      moved = this.mergeSide(slot, 'server', k.server);
    }
    if (moved) this.flag(slot, FLAG.sidesChanged);
    this.figure(slot, COL.firstSeen, Math.min(this.cols.get(slot, COL.firstSeen), startMs));
    this.markDirty(slot);
    return slot;
  }

  /**
   * Later facts win; a view without a pid (softirq, socket table) never erases a known one. True
   * when a fact changed.
   */
  private mergeSide(slot: number, name: SideName, from: Side): boolean {
    const at = SIDE_COLS[name];
    const ips = this.ips[name];
    const comms = this.comms[name];
    // Kept while equal: each read brings a new string, which would be old garbage a poll later.
    let moved = false;
    if (ips[slot] !== from.ip) {
      ips[slot] = from.ip;
      moved = true;
    }
    if (from.netns && from.netns !== this.cols.u32(slot, at.netns)) {
      this.cols.setU32(slot, at.netns, from.netns);
      moved = true;
    }
    if (from.pid && (from.pid !== this.cols.u32(slot, at.pid) || from.comm !== comms[slot])) {
      this.cols.setU32(slot, at.pid, from.pid);
      comms[slot] = from.comm;
      moved = true;
    }
    if (from.cgroupId && from.cgroupId !== this.cols.get(slot, at.cgroupId)) {
      this.cols.set(slot, at.cgroupId, from.cgroupId);
      moved = true;
    }
    return moved;
  }

  /**
   * Whether an address may be on this host, as far as the resolver's last scan of the host's
   * addresses knows; without a resolver, any may. An address added since is missed until the next
   * scan, where the kernel did not pair the connection's ends itself.
   */
  private mayBeHere(ip: string): boolean {
    return this.opts.resolver?.isLocal?.(ip) ?? true;
  }

  /** A side of a link as the resolver is asked about it. */
  private sideOf(slot: number, name: SideName): Side {
    const at = SIDE_COLS[name];
    return side(this.ips[name][slot]!, this.cols.u32(slot, at.netns), this.cols.u32(slot, at.pid), this.comms[name][slot], this.cols.get(slot, at.cgroupId));
  }

  private dropPseudo(v: ConnView): void {
    if (this.pseudoByMatch.size === 0) return;
    const match = socketKey(v);
    const key = this.pseudoByMatch.get(match);
    if (!key) return;
    this.pseudoByMatch.delete(match);
    const c = this.conns.get(key);
    if (c === undefined) return;
    this.removeConn(c, true);
  }

  /** Takes a connection off its link (see detach) and out of the table; its slot goes back. */
  private removeConn(c: number, dropEmpty = false): void {
    this.conns.delete(this.connKeys[c]!);
    this.connKeys[c] = undefined;
    this.detach(c, dropEmpty);
    this.conn.give(c);
  }

  private linkOf(c: number): number {
    return this.conn.u32(c, CONN_U32.link) - 1;
  }

  private connIs(c: number, bit: number): boolean {
    return (this.conn.u32(c, CONN_U32.flags) & bit) !== 0;
  }

  private setConnFlag(c: number, bit: number, on: boolean): void {
    const flags = this.conn.u32(c, CONN_U32.flags);
    this.conn.setU32(c, CONN_U32.flags, on ? flags | bit : flags & ~bit);
  }

  /** Puts a view first in its link's list of open connections. */
  private attach(c: number, slot: number): void {
    const head = this.cols.u32(slot, U32.firstConn);
    this.conn.setU32(c, CONN_U32.link, slot + 1);
    this.conn.setU32(c, CONN_U32.prev, 0);
    this.conn.setU32(c, CONN_U32.next, head);
    if (head) this.conn.setU32(head - 1, CONN_U32.prev, c + 1);
    this.cols.setU32(slot, U32.firstConn, c + 1);
  }

  /**
   * Takes a view off its link. When the view moves (a guessed role or a socket-table entry
   * replaced by the traced socket), a link left with nothing ever counted was a wrong guess: it goes.
   */
  private detach(c: number, dropEmpty: boolean): void {
    const slot = this.linkOf(c);
    if (slot < 0) return;
    const prev = this.conn.u32(c, CONN_U32.prev);
    const next = this.conn.u32(c, CONN_U32.next);
    if (prev) this.conn.setU32(prev - 1, CONN_U32.next, next);
    else this.cols.setU32(slot, U32.firstConn, next);
    if (next) this.conn.setU32(next - 1, CONN_U32.prev, prev);
    this.conn.setU32(c, CONN_U32.prev, 0);
    this.conn.setU32(c, CONN_U32.next, 0);
    this.conn.setU32(c, CONN_U32.link, 0);
    this.markDirty(slot);
    if (dropEmpty && this.cols.u32(slot, U32.firstConn) === 0 && this.cols.get(slot, COL.closed) === 0 && this.cols.get(slot, COL.failed) === 0 && this.cols.get(slot, COL.closedSent) === 0 && this.cols.get(slot, COL.closedReceived) === 0) {
      this.deleteLink(this.ids[slot]!);
    }
  }

  private vanish(c: number): void {
    const slot = this.linkOf(c);
    // Read before the slot goes back.
    this.closedKeys.set(this.connKeys[c]!, this.conn.get(c, CONN.missingSinceMs));
    const counting = this.connIs(c, CONN_FLAG.counting);
    const sent = this.conn.get(c, CONN.sent);
    const received = this.conn.get(c, CONN.received);
    const retransmits = this.conn.get(c, CONN.retransmits);
    this.removeConn(c);
    this.vanished += 1;
    if (slot < 0) return;
    if (counting) {
      this.cols.add(slot, COL.closedSent, sent);
      this.cols.add(slot, COL.closedReceived, received);
    }
    this.cols.add(slot, COL.closedRetransmits, retransmits);
  }

  private totals(slot: number): { sent: number; received: number; active: number; retransmits: number } {
    let sent = this.cols.get(slot, COL.closedSent);
    let received = this.cols.get(slot, COL.closedReceived);
    let active = 0;
    let retransmits = this.cols.get(slot, COL.closedRetransmits);
    for (let c = this.cols.u32(slot, U32.firstConn) - 1; c >= 0; c = this.conn.u32(c, CONN_U32.next) - 1) {
      retransmits += this.conn.get(c, CONN.retransmits);
      if (!this.connIs(c, CONN_FLAG.counting)) continue;
      sent += this.conn.get(c, CONN.sent);
      received += this.conn.get(c, CONN.received);
      // Gone from the kernel's map: closed, its record on the way.
      if (this.connIs(c, CONN_FLAG.established) && Number.isNaN(this.conn.get(c, CONN.missingSinceMs))) active += 1;
    }
    return { sent, received, active, retransmits };
  }

  private deleteLink(id: string): void {
    const slot = this.links.get(id);
    if (slot === undefined) return;
    this.links.delete(id);
    // Nothing of it stays reachable from its slot until a new link takes it.
    this.ids[slot] = undefined;
    this.ips.client[slot] = undefined;
    this.ips.server[slot] = undefined;
    this.comms.client[slot] = undefined;
    this.comms.server[slot] = undefined;
    this.clientOf[slot] = undefined;
    this.serverOf[slot] = undefined;
    this.recordOf[slot] = undefined;
    this.cols.setU32(slot, U32.flags, 0);
    this.cols.give(slot);
    this.topologyMoved();
  }

  /**
   * Samples rates and tells listeners what changed. A poll looks at every link (rates decay even
   * without traffic); a batch of close records only at the links it touched.
   */
  private commit(nowMs: number, all: boolean): void {
    this.nowMs = nowMs;
    let figures = false;
    const take = (slot: number): void => {
      this.cols.setU32(slot, U32.flags, this.cols.u32(slot, U32.flags) & ~FLAG.dirty);
      const t = this.totals(slot);
      addRateSample(this.cols.block(slot), this.cols.at(slot) + COL.rates, this.opts.rateWindowMs, nowMs, t.sent, t.received);
      if (this.refresh(slot, t)) figures = true;
    };
    if (all) for (const slot of this.links.values()) take(slot);
    for (let i = 0; i < this.dirtyCount; i++) {
      const slot = this.dirty[i]!;
      // A link that left since has its flags cleared; one that took its slot since is in the list again.
      if (this.cols.u32(slot, U32.flags) & FLAG.dirty) take(slot);
    }
    this.dirtyCount = 0;
    const topology = this.topologyChanged;
    this.topologyChanged = false;
    if (!topology && !figures) return;
    const kind: ChangeKind = topology ? 'topology' : 'figures';
    for (const fn of this.listenersFns) fn(kind);
  }

  /**
   * Takes the link's figures into its row as its record carries them; true when one moved or a
   * side was named again. Rates are whole bytes/s: a fraction would be a boxed double in every
   * record built, in this process and the server's.
   */
  private refresh(slot: number, t: ReturnType<LinkTableState['totals']>): boolean {
    const r = rateOf(this.cols.block(slot), this.cols.at(slot) + COL.rates, this.opts.rateWindowMs);
    const sendRate = Math.round(r.send);
    const receiveRate = Math.round(r.receive);
    const flags = this.cols.u32(slot, U32.flags);
    this.cols.setU32(slot, U32.flags, flags & ~(FLAG.sidesChanged | FLAG.figuresMoved));
    let moved = (flags & FLAG.figuresMoved) !== 0;
    // A new link is named in the commit of the change that made it.
    if (!this.clientOf[slot] || flags & FLAG.sidesChanged) {
      this.nameSides(slot);
      moved = true;
    }
    if (
      this.cols.get(slot, COL.bytesSent) !== t.sent ||
      this.cols.get(slot, COL.bytesReceived) !== t.received ||
      this.cols.get(slot, COL.retransmits) !== t.retransmits ||
      this.cols.get(slot, COL.sendRate) !== sendRate ||
      this.cols.get(slot, COL.receiveRate) !== receiveRate ||
      this.cols.u32(slot, U32.active) !== t.active
    ) {
      this.cols.set(slot, COL.bytesSent, t.sent);
      this.cols.set(slot, COL.bytesReceived, t.received);
      this.cols.set(slot, COL.retransmits, t.retransmits);
      this.cols.set(slot, COL.sendRate, sendRate);
      this.cols.set(slot, COL.receiveRate, receiveRate);
      this.cols.setU32(slot, U32.active, t.active);
      moved = true;
    }
    const rec = this.recordOf[slot];
    if (moved && rec) Object.assign(rec, this.build(slot));
    return moved;
  }

  /** The link's record as of the last commit, built from its row. */
  private build(slot: number): LinkRecord {
    const rttUs = this.cols.get(slot, COL.rttUs);
    return {
      id: this.ids[slot]!,
      client: this.clientOf[slot]!,
      server: this.serverOf[slot]!,
      protocol: 'tcp',
      bytesSent: this.cols.get(slot, COL.bytesSent),
      bytesReceived: this.cols.get(slot, COL.bytesReceived),
      sendRate: this.cols.get(slot, COL.sendRate),
      receiveRate: this.cols.get(slot, COL.receiveRate),
      connections: connectionCounts(this.cols.u32(slot, U32.active), this.cols.get(slot, COL.closed), this.cols.get(slot, COL.failed)),
      retransmits: this.cols.get(slot, COL.retransmits),
      firstSeen: this.cols.get(slot, COL.firstSeen),
      lastSeen: this.cols.get(slot, COL.lastSeen),
      rttMs: Number.isNaN(rttUs) ? undefined : rttUs / 1000,
    };
  }

  /** Asks the resolver for both endpoints; an answer equal to what the link holds keeps that object. */
  private nameSides(slot: number): void {
    this.cols.set(slot, COL.namedAtMs, this.nowMs);
    const client = this.endpoint(this.sideOf(slot, 'client'));
    const held = this.clientOf[slot];
    if (!held || !sameJson(client, held)) this.clientOf[slot] = client;
    this.serverOf[slot] = this.serverEndpoint(slot, this.serverOf[slot]);
  }

  /** Names the link's endpoints again when their names are NAMES_FOR_MS old, as it is read. */
  private named(slot: number): void {
    if (!this.opts.resolver || this.nowMs - this.cols.get(slot, COL.namedAtMs) < NAMES_FOR_MS) return;
    this.nameSides(slot);
    const rec = this.recordOf[slot];
    if (!rec) return;
    rec.client = this.clientOf[slot]!;
    rec.server = this.serverOf[slot]!;
  }

  /** Sets a figure the record reads straight from the row, marking the link when it moved. */
  private figure(slot: number, col: number, v: number): void {
    if (this.cols.get(slot, col) === v) return;
    this.cols.set(slot, col, v);
    this.flag(slot, FLAG.figuresMoved);
  }

  /** Adds to a count the record reads straight from the row. */
  private count(slot: number, col: number, n: number): void {
    if (n !== 0) this.figure(slot, col, this.cols.get(slot, col) + n);
  }

  private flag(slot: number, bit: number): void {
    this.cols.setU32(slot, U32.flags, this.cols.u32(slot, U32.flags) | bit);
  }

  /**
   * The link's figures are looked at in the next commit. A list that keeps its length (a Set
   * emptied and filled by 100,000 links a poll made its table again each time).
   */
  private markDirty(slot: number): void {
    if (this.cols.u32(slot, U32.flags) & FLAG.dirty) return;
    this.flag(slot, FLAG.dirty);
    this.dirty[this.dirtyCount++] = slot;
  }

  /** Activity at `atMs`: the link's last seen moves forward only. */
  private seen(slot: number, atMs: number): void {
    if (atMs > this.cols.get(slot, COL.lastSeen)) this.figure(slot, COL.lastSeen, atMs);
  }

  /** The server's endpoint, shared with the other links to it; `held` is the link's own. */
  private serverEndpoint(slot: number, held: Endpoint | undefined): Endpoint {
    const port = this.cols.u32(slot, U32.port);
    const s = this.sideOf(slot, 'server');
    const e = this.endpoint(s, port);
    e.port = port;
    return this.servers.share(flat(s.ip, '|', port, '|', s.netns, '|', s.pid, '|', s.comm, '|', s.cgroupId), e, held, this.nowMs);
  }

  private endpoint(s: Side, port?: number): Endpoint {
    if (this.opts.resolver) {
      const facts: EndpointFacts = { ip: s.ip };
      if (port !== undefined) facts.port = port;
      if (s.netns) facts.netnsInode = s.netns;
      if (s.pid) facts.pid = s.pid;
      if (s.comm) facts.comm = s.comm;
      if (s.cgroupId) facts.cgroupId = s.cgroupId;
      return this.opts.resolver.resolve(facts);
    }
    // Every field present (undefined when unknown, which JSON leaves out): one shape for all.
    return {
      ip: s.ip,
      port: undefined,
      netnsInode: s.netns,
      netns: s.netns ? unnamedNetns(s.netns) : undefined,
      pid: s.pid,
      process: s.comm,
    };
  }
}

/** A fold as the client view classify() and linkFor() take (no port, no key: not one socket). */
function foldView(f: FoldRecord): ConnView {
  return {
    key: '',
    startNs: f.firstNs,
    lastNs: f.lastNs,
    bytesSent: f.bytesSent,
    bytesReceived: f.bytesReceived,
    cgroupId: f.cgroupId,
    baseSnd: 0,
    baseRcv: 0,
    pid: f.pid,
    comm: f.comm,
    netns: f.netns,
    retransmits: f.retransmits,
    srttUs: f.srttUs,
    family: f.family,
    localIp: f.clientIp,
    localPort: 0,
    remoteIp: f.serverIp,
    remotePort: f.serverPort,
    role: 'client',
    established: f.closed > 0,
    finIn: false,
    peerLocal: false,
    hasBase: false,
    hasPid: true,
    peerKey: '',
    peerPid: f.peerPid,
    peerComm: f.peerComm,
    peerNetns: f.peerNetns,
    peerRetransmits: 0,
  };
}

/** A side with every field present (undefined when unknown), so that all share one shape. */
function side(ip: string, netns?: number, pid?: number, comm?: string, cgroupId?: number): Side {
  return { ip, netns: netns || undefined, pid: pid || undefined, comm: (pid && comm) || undefined, cgroupId: cgroupId || undefined };
}
