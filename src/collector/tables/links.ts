// The link table: socket views of TCP connections (live from the kernel map; closed ones added up
// per link in the kernel, or one by one from the ring buffer; and those open before the collector
// started) folded into client → server:port links.
// Pure: it is fed decoded records and a clock, and never touches the kernel itself.
import type { Endpoint, LinkRecord } from '../../protocol/index.js';
import type { EndpointFacts, Resolver } from '../resolve/types.js';
import type { ChangeKind, LinkTable } from './types.js';
import type { CloseRecord, ConnView, FoldRecord, ServerSlot } from '../kernel/links-records.js';
import { finalCounts } from './links-accounting.js';
import { addRateSample, rateOf } from './links-rates.js';
import { COL, LinkColumns, rowAt } from './link-columns.js';
import { decideRole, ListenerIndex, type Listener, type SocketTuple } from './links-roles.js';
import { isLoopback } from './address.js';
import { byId } from '../../protocol/record-order.js';
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

/** One socket view as the table keeps it, with bytes oriented client → server. */
interface Conn {
  key: string;
  linkId: string | undefined;
  counting: boolean;
  sent: number;
  received: number;
  retransmits: number;
  established: boolean;
  pseudo: boolean;
  /** A client view: the kernel adds its close into its link's fold, not a close record. */
  folded: boolean;
  missingSinceMs: number | undefined;
  /** The poll that last saw it in the kernel's map. */
  seen: number;
  /** Its index in its link's `live`, -1 when in none. */
  slot: number;
}

interface LinkState {
  id: string;
  client: Side;
  server: Side;
  port: number;
  /** Its row in the table's columns: bytes and retransmits of closed connections, first and last seen, rate samples. */
  slot: number;
  closed: number;
  failed: number;
  rttUs: number | undefined;
  /** Open connections (an array, not a map: most links have one or a few, and there are 100,000 links). */
  live: Conn[];
  /**
   * What readers are handed: changed in place when a figure moves (a nested object is replaced,
   * never changed), so a poll where every link moved makes no garbage of 100,000 records.
   */
  record: LinkRecord | undefined;
  /** A side's facts (process, namespace) changed since the record was built. */
  sidesChanged: boolean;
  /** In the list of links the next commit looks at. */
  dirty: boolean;
}

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

export class LinkTableState implements LinkTable {
  private readonly links = new Map<string, LinkState>();
  private readonly cols = new LinkColumns();
  private readonly servers = new SharedEndpoints();
  private readonly conns = new Map<string, Conn>();
  /** Views seen open that closed or vanished: a batch read racing a close must not bring them back. */
  private readonly closedKeys = new Map<string, number>();
  /** Every close since the last poll, and in the poll before: what a racing batch read may still hold. */
  private closedSincePoll = new Set<string>();
  private closedPollBefore = new Set<string>();
  /** Client tuples → link, so the server view of a local connection finds its link. */
  private readonly clientTuples = new Map<string, { linkId: string; atMs: number }>();
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
  /** Links whose figures may have moved since the last commit, and whether any came or went. */
  private readonly dirty: (LinkState | undefined)[] = [];
  private dirtyCount = 0;
  private topologyChanged = false;
  /** The links in id order, and their records (a new array when one comes or goes, never changed). */
  private sorted: LinkState[] | undefined;
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
      if (this.upsertLive(c, nowMs, true)) this.pseudoByMatch.set(match, c.key);
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
      if (c.pseudo || c.seen === poll) continue;
      // The kernel deleted it before adding its final counts to the fold of this poll or the next
      // (or, when the fold map was full, to a close record, which then counts it).
      if (c.folded) {
        this.removeConn(c);
        continue;
      }
      c.missingSinceMs ??= nowMs;
      if (nowMs - c.missingSinceMs >= this.opts.vanishGraceMs) this.vanish(c);
    }
    this.closedPollBefore = this.closedSincePoll;
    this.closedSincePoll = new Set();
    this.commit(nowMs, true);
  }

  private liveView(v: ConnView, nowMs: number, poll: number): void {
    if (this.closedKeys.has(v.key) || this.closedSincePoll.has(v.key) || this.closedPollBefore.has(v.key)) return;
    this.dropPseudo(v);
    let c: Conn | undefined;
    if (v.role === 'server' && v.peerLocal) {
      if (v.hasPid) this.serverProcess(v.peerKey, v.pid, v.comm);
      c = this.conns.get(v.key);
    } else c = this.upsertLive(v, nowMs, false);
    if (c) c.seen = poll;
  }

  /**
   * A local pair's server counts nothing (its client view carries the connection), but while it
   * is open its own entry or slot is where the server's process is: the kernel hands it to the
   * client entry only when one of the two closes.
   */
  private serverProcess(clientKey: string, pid: number, comm: string): void {
    const client = this.conns.get(clientKey);
    const link = client?.linkId === undefined ? undefined : this.links.get(client.linkId);
    if (!link || (link.server.pid === pid && link.server.comm === comm)) return;
    link.server.pid = pid;
    link.server.comm = comm;
    link.sidesChanged = true;
    this.markDirty(link);
  }

  /** Connections that closed, with their final counts. */
  addClosed(records: CloseRecord[], nowMs: number): void {
    for (const r of records) {
      const v = r.view;
      if (this.closedKeys.has(v.key)) continue;
      this.closedSincePoll.add(v.key);
      if (!this.seeded) this.closedMatches.set(socketKey(v), nowMs);
      const live = this.conns.get(v.key);
      if (live) {
        this.removeConn(live);
        this.closedKeys.set(v.key, nowMs);
      }
      this.dropPseudo(v);
      const final = finalCounts(r);
      if (this.opts.payloadTraced) this.corrections += final.corrections;
      const k = this.classify(v, final);
      if (!k) continue;
      const link = this.linkFor(k, v, nowMs);
      if (!link) continue;
      if (k.counting) {
        if (v.established) {
          link.closed += 1;
          this.add(link, COL.closedSent, k.sent);
          this.add(link, COL.closedReceived, k.received);
        } else if (k.role === 'client') {
          link.failed += 1;
        }
      }
      this.add(link, COL.closedRetransmits, v.retransmits + v.peerRetransmits);
      if (v.srttUs > 0) link.rttUs = v.srttUs;
      this.seen(link, this.opts.monoToEpochMs(r.endNs));
    }
    this.commit(nowMs, false);
  }

  private addFolds(folds: FoldRecord[], nowMs: number): void {
    for (const f of folds) {
      if (this.opts.payloadTraced) this.corrections += f.corrections;
      const v = foldView(f);
      const k = this.classify(v);
      if (!k) continue;
      const link = this.linkFor(k, v, nowMs);
      if (!link) continue;
      link.closed += f.closed;
      link.failed += f.failed;
      this.add(link, COL.closedSent, f.bytesSent);
      this.add(link, COL.closedReceived, f.bytesReceived);
      this.add(link, COL.closedRetransmits, f.retransmits);
      if (f.srttUs > 0) link.rttUs = f.srttUs;
      this.seen(link, this.opts.monoToEpochMs(f.lastNs));
    }
  }

  /** Ages out idle links and forgets old bookkeeping. */
  expire(nowMs: number): void {
    for (const [id, l] of this.links) {
      if (l.live.length === 0 && nowMs - this.num(l, COL.lastSeen) > this.opts.idleTimeoutMs) this.deleteLink(id);
    }
    // Both grow with every connection: kept only as long as a late read or record may need them
    // (a live client's tuple is refreshed at every poll).
    const keep = this.opts.vanishGraceMs * 4;
    for (const [k, at] of this.closedKeys) if (nowMs - at > keep) this.closedKeys.delete(k);
    for (const [k, t] of this.clientTuples) if (nowMs - t.atMs > keep) this.clientTuples.delete(k);
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
    if (!this.sorted) {
      this.sorted = [...this.links.values()].sort(byId);
      this.recs = this.sorted.map((l) => l.record!);
    }
    // Records change in place: naming them again leaves the array as it is.
    if (this.opts.resolver) for (const l of this.sorted) this.named(l);
    return this.recs!;
  }

  size(): number {
    return this.links.size;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listenersFns.add(listener);
    return () => this.listenersFns.delete(listener);
  }

  private upsertLive(v: ConnView, nowMs: number, pseudo: boolean): Conn | undefined {
    const k = this.classify(v);
    if (!k) return undefined;
    let c = this.conns.get(v.key);
    const link = this.linkFor(k, v, nowMs);
    if (!c) {
      c = {
        key: v.key,
        linkId: undefined,
        counting: k.counting,
        sent: 0,
        received: 0,
        retransmits: 0,
        established: v.established,
        pseudo,
        folded: !pseudo && v.role === 'client',
        missingSinceMs: undefined,
        seen: 0,
        slot: -1,
      };
      this.conns.set(c.key, c);
    }
    if (link && c.linkId !== link.id) {
      this.detach(c, true);
      c.linkId = link.id;
      c.slot = link.live.length;
      // A literal is sized to its content; a push to an empty array reserves 17 entries.
      if (c.slot === 0) link.live = [c];
      else link.live.push(c);
    }
    // The kernel does not date sends and receives: counts that moved since the last read did now.
    const moved = c.sent !== k.sent || c.received !== k.received;
    c.counting = k.counting;
    c.sent = k.sent;
    c.received = k.received;
    c.retransmits = v.retransmits + v.peerRetransmits;
    c.established = v.established;
    c.missingSinceMs = undefined;
    if (link) {
      if (v.srttUs > 0) link.rttUs = v.srttUs;
      if (!pseudo) this.seen(link, moved ? nowMs : this.opts.monoToEpochMs(v.lastNs));
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
    else linkId = this.clientTuples.get(tuple)?.linkId;
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

  /** The link of a classified view, made when a counting view is the first to name it. */
  private linkFor(k: Classified, v: ConnView, nowMs: number): LinkState | undefined {
    if (!k.linkId) return undefined;
    let link = this.links.get(k.linkId);
    const startMs = v.startNs > 0n ? this.opts.monoToEpochMs(v.startNs) : nowMs;
    if (!link) {
      if (!k.counting) return undefined;
      const slot = this.cols.take();
      link = {
        id: k.linkId,
        client: side(k.client.ip, k.client.netns, k.client.pid, k.client.comm, k.client.cgroupId),
        server: side(k.server.ip, k.server.netns, k.server.pid, k.server.comm, k.server.cgroupId),
        port: k.port,
        slot,
        closed: 0,
        failed: 0,
        rttUs: undefined,
        live: [],
        record: undefined,
        sidesChanged: false,
        dirty: false,
      };
      this.put(link, COL.firstSeen, startMs);
      this.put(link, COL.lastSeen, startMs);
      this.links.set(link.id, link);
      this.sorted = undefined;
      this.recs = undefined;
      this.topologyChanged = true;
    }
    let moved = false;
    if (k.role === 'client') {
      moved = mergeSide(link.client, k.client);
      // The local server's process, when the client view has it from the kernel.
      moved = mergeSide(link.server, k.server) || moved;
      // Only needed when a server view of this connection may still come on its own: not when
      // the kernel already paired the two ends (peerNetns known), nor for folds (no port).
      if (!v.peerNetns && v.key) {
        const t = this.clientTuples.get(k.tuple);
        if (t) {
          t.linkId = link.id;
          t.atMs = nowMs;
        } else this.clientTuples.set(k.tuple, { linkId: link.id, atMs: nowMs });
      }
    } else {
      moved = mergeSide(link.server, k.server);
    }
    if (moved) link.sidesChanged = true;
    this.put(link, COL.firstSeen, Math.min(this.num(link, COL.firstSeen), startMs));
    this.markDirty(link);
    return link;
  }

  private dropPseudo(v: ConnView): void {
    if (this.pseudoByMatch.size === 0) return;
    const match = socketKey(v);
    const key = this.pseudoByMatch.get(match);
    if (!key) return;
    this.pseudoByMatch.delete(match);
    const c = this.conns.get(key);
    if (!c) return;
    this.conns.delete(c.key);
    this.detach(c, true);
  }

  private removeConn(c: Conn): void {
    this.conns.delete(c.key);
    this.detach(c, false);
  }

  /**
   * Takes a view off its link. When the view moves (a guessed role or a socket-table entry
   * replaced by the traced socket), a link left with nothing ever counted was a wrong guess: it goes.
   */
  private detach(c: Conn, dropEmpty: boolean): void {
    const old = c.linkId ? this.links.get(c.linkId) : undefined;
    if (!old) return;
    if (old.live[c.slot] === c) {
      // The last one takes its place.
      const last = old.live.pop()!;
      if (last !== c) {
        old.live[c.slot] = last;
        last.slot = c.slot;
      }
      c.slot = -1;
    }
    this.markDirty(old);
    if (dropEmpty && old.live.length === 0 && old.closed === 0 && old.failed === 0 && this.num(old, COL.closedSent) === 0 && this.num(old, COL.closedReceived) === 0) {
      this.deleteLink(old.id);
    }
  }

  private vanish(c: Conn): void {
    this.removeConn(c);
    this.closedKeys.set(c.key, c.missingSinceMs ?? 0);
    this.vanished += 1;
    const link = c.linkId ? this.links.get(c.linkId) : undefined;
    if (!link) return;
    if (c.counting) {
      this.add(link, COL.closedSent, c.sent);
      this.add(link, COL.closedReceived, c.received);
    }
    this.add(link, COL.closedRetransmits, c.retransmits);
  }

  private totals(l: LinkState): { sent: number; received: number; active: number; retransmits: number } {
    let sent = this.num(l, COL.closedSent);
    let received = this.num(l, COL.closedReceived);
    let active = 0;
    let retransmits = this.num(l, COL.closedRetransmits);
    for (const c of l.live) {
      retransmits += c.retransmits;
      if (!c.counting) continue;
      sent += c.sent;
      received += c.received;
      // Gone from the kernel's map: closed, its record on the way.
      if (c.established && c.missingSinceMs === undefined) active += 1;
    }
    return { sent, received, active, retransmits };
  }

  private deleteLink(id: string): void {
    const l = this.links.get(id);
    if (!l) return;
    this.links.delete(id);
    this.cols.give(l.slot);
    l.dirty = false;
    this.sorted = undefined;
    this.recs = undefined;
    this.topologyChanged = true;
  }

  /**
   * Samples rates and tells listeners what changed. A poll looks at every link (rates decay even
   * without traffic); a batch of close records only at the links it touched.
   */
  private commit(nowMs: number, all: boolean): void {
    this.nowMs = nowMs;
    let figures = false;
    const take = (l: LinkState): void => {
      l.dirty = false;
      const t = this.totals(l);
      addRateSample(this.cols.block(l.slot), rowAt(l.slot) + COL.rates, this.opts.rateWindowMs, nowMs, t.sent, t.received);
      if (this.refresh(l, t)) figures = true;
    };
    if (all) for (const l of this.links.values()) take(l);
    for (let i = 0; i < this.dirtyCount; i++) {
      const l = this.dirty[i]!;
      // Cleared so that the list holds no link that left.
      this.dirty[i] = undefined;
      if (l.dirty) take(l);
    }
    this.dirtyCount = 0;
    const topology = this.topologyChanged;
    this.topologyChanged = false;
    if (!topology && !figures) return;
    const kind: ChangeKind = topology ? 'topology' : 'figures';
    for (const fn of this.listenersFns) fn(kind);
  }

  /**
   * Writes a moved figure or side into the link's record (rates to the byte/s); true when one
   * moved. The endpoints stay the same objects while the sides do.
   */
  private refresh(l: LinkState, t: ReturnType<LinkTableState['totals']>): boolean {
    const r = rateOf(this.cols.block(l.slot), rowAt(l.slot) + COL.rates, this.opts.rateWindowMs);
    const firstSeen = this.num(l, COL.firstSeen);
    const lastSeen = this.num(l, COL.lastSeen);
    const rttMs = l.rttUs === undefined ? undefined : l.rttUs / 1000;
    const rec = l.record;
    if (!rec) {
      l.sidesChanged = false;
      this.put(l, COL.namedAtMs, this.nowMs);
      l.record = {
        id: l.id,
        client: this.endpoint(l.client),
        server: this.serverEndpoint(l, undefined),
        protocol: 'tcp',
        bytesSent: t.sent,
        bytesReceived: t.received,
        sendRate: r.send,
        receiveRate: r.receive,
        connections: connectionCounts(t.active, l.closed, l.failed),
        retransmits: t.retransmits,
        firstSeen,
        lastSeen,
        rttMs,
      };
      return true;
    }
    let moved = false;
    if (l.sidesChanged) {
      l.sidesChanged = false;
      this.put(l, COL.namedAtMs, this.nowMs);
      rec.client = this.endpoint(l.client);
      rec.server = this.serverEndpoint(l, undefined);
      moved = true;
    }
    const c = rec.connections;
    if (c.active !== t.active || c.closed !== l.closed || c.failed !== l.failed) {
      rec.connections = connectionCounts(t.active, l.closed, l.failed);
      moved = true;
    }
    if (
      rec.bytesSent === t.sent &&
      rec.bytesReceived === t.received &&
      rec.retransmits === t.retransmits &&
      rec.rttMs === rttMs &&
      rec.firstSeen === firstSeen &&
      rec.lastSeen === lastSeen &&
      Math.round(rec.sendRate) === Math.round(r.send) &&
      Math.round(rec.receiveRate) === Math.round(r.receive)
    ) {
      return moved;
    }
    rec.bytesSent = t.sent;
    rec.bytesReceived = t.received;
    rec.sendRate = r.send;
    rec.receiveRate = r.receive;
    rec.retransmits = t.retransmits;
    rec.firstSeen = firstSeen;
    rec.lastSeen = lastSeen;
    rec.rttMs = rttMs;
    return true;
  }

  /** The link's record with its endpoints named again when their names are NAMES_FOR_MS old. */
  private named(l: LinkState): LinkRecord {
    // Every link has one: it is built in the commit of the change that made the link.
    const rec = l.record!;
    if (!this.opts.resolver || this.nowMs - this.num(l, COL.namedAtMs) < NAMES_FOR_MS) return rec;
    this.put(l, COL.namedAtMs, this.nowMs);
    const client = this.endpoint(l.client);
    if (!sameJson(client, rec.client)) rec.client = client;
    rec.server = this.serverEndpoint(l, rec.server);
    return rec;
  }

  private num(l: LinkState, col: number): number {
    return this.cols.block(l.slot)[rowAt(l.slot) + col]!;
  }

  private put(l: LinkState, col: number, v: number): void {
    this.cols.block(l.slot)[rowAt(l.slot) + col] = v;
  }

  private add(l: LinkState, col: number, v: number): void {
    this.cols.block(l.slot)[rowAt(l.slot) + col] += v;
  }

  /**
   * The link's figures are looked at in the next commit. A list that keeps its length (a Set
   * emptied and filled by 100,000 links a poll made its table again each time).
   */
  private markDirty(l: LinkState): void {
    if (l.dirty) return;
    l.dirty = true;
    this.dirty[this.dirtyCount++] = l;
  }

  /** Activity at `atMs`: the link's last seen moves forward only. */
  private seen(l: LinkState, atMs: number): void {
    if (atMs > this.num(l, COL.lastSeen)) this.put(l, COL.lastSeen, atMs);
  }

  /** The server's endpoint, shared with the other links to it; `held` is the link's own. */
  private serverEndpoint(l: LinkState, held: Endpoint | undefined): Endpoint {
    const e = this.endpoint(l.server, l.port);
    e.port = l.port;
    const s = l.server;
    return this.servers.share(flat(s.ip, '|', l.port, '|', s.netns, '|', s.pid, '|', s.comm, '|', s.cgroupId), e, held, this.nowMs);
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

/**
 * Later facts win; a view without a pid (softirq, socket table) never erases a known one. True
 * when a fact changed.
 */
function mergeSide(into: Side, from: Side): boolean {
  // Kept while equal: each read brings a new string, which would be old garbage a poll later.
  let moved = false;
  if (into.ip !== from.ip) {
    into.ip = from.ip;
    moved = true;
  }
  if (from.netns && from.netns !== into.netns) {
    into.netns = from.netns;
    moved = true;
  }
  if (from.pid && (from.pid !== into.pid || from.comm !== into.comm)) {
    into.pid = from.pid;
    into.comm = from.comm;
    moved = true;
  }
  if (from.cgroupId && from.cgroupId !== into.cgroupId) {
    into.cgroupId = from.cgroupId;
    moved = true;
  }
  return moved;
}
