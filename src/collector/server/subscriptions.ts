// Every live subscription of every client, grouped into shared views by spec. Topology changes are
// flushed at once (next turn of the event loop, so a burst is one flush); figure changes wait for
// the figures cadence. A client whose socket buffer is over the bound (plus its last snapshot)
// gets no deltas; once it has drained it gets a fresh snapshot, so what the collector holds for it
// stays bounded.
import type { SubscriptionSpec, TableName } from '../../protocol/index.js';
import type { ChangeKind, LiveTable } from '../tables/types.js';
import { SharedView, messageHead } from './shared-view.js';
import { specKey } from './validate.js';
import { PART_BYTES } from './json-parts.js';
import { PartPool, type HeldParts } from './part-pool.js';

export interface Channel {
  /**
   * One message: the client's own head, then the tail shared by every client of the view. A
   * channel that writes the tail holds it until the write is done or will never be.
   */
  send(head: string, tail: HeldParts, kind: 'snapshot' | 'delta'): void;
  bufferedAmount(): number;
}

interface Member {
  channel: Channel;
  sub: string;
  seq: number;
  /** Fell behind: skip deltas until drained, then send a snapshot. */
  behind: boolean;
  /** Size of the last snapshot sent: a client may hold that much on top of the bound. */
  snapshotBytes: number;
  view: SharedView;
}

export interface SubscriptionOptions {
  figuresIntervalMs: number;
  /** Above this many bytes waiting in a client's socket, it gets no more deltas. */
  maxBufferedBytes: number;
}

export interface SubscriptionStats {
  fellBehind: number;
  flushes: number;
  /** Latest failures to compute a view, newest last. */
  errors: string[];
}

export class Subscriptions {
  private readonly views = new Map<string, SharedView>();
  private readonly members = new Map<SharedView, Set<Member>>();
  private readonly byChannel = new Map<Channel, Map<string, Member>>();
  private readonly dirty = new Set<TableName>();
  private readonly pending = new Set<TableName>();
  private readonly unlisten: (() => void)[];
  private readonly figuresTimer: NodeJS.Timeout;
  private drainTimer: NodeJS.Timeout | undefined;
  readonly stats: SubscriptionStats = { fellBehind: 0, flushes: 0, errors: [] };
  // A run of records that comes out up to a quarter longer than aimed at still fits a part; 16 MiB
  // keeps the parts of two 10,000-link snapshots.
  private readonly pool = new PartPool((PART_BYTES * 5) / 4, 16 * 1024 * 1024);

  constructor(
    private readonly tables: Record<TableName, LiveTable<{ id: string }>>,
    private readonly opts: SubscriptionOptions,
  ) {
    this.unlisten = (Object.keys(tables) as TableName[]).map((t) => tables[t].onChange((kind) => this.changed(t, kind)));
    this.figuresTimer = setInterval(() => {
      for (const t of [...this.dirty]) this.flush(t);
    }, opts.figuresIntervalMs);
    this.figuresTimer.unref();
  }

  subscribe(channel: Channel, sub: string, spec: SubscriptionSpec): void {
    this.unsubscribe(channel, sub);
    const key = specKey(spec);
    let view = this.views.get(key);
    if (!view) {
      view = new SharedView(key, spec, this.tables[spec.table], Date.now(), this.pool);
      this.views.set(key, view);
      this.members.set(view, new Set());
    }
    const m: Member = { channel, sub, seq: 0, behind: false, snapshotBytes: 0, view };
    this.members.get(view)!.add(m);
    let mine = this.byChannel.get(channel);
    if (!mine) this.byChannel.set(channel, (mine = new Map()));
    mine.set(sub, m);
    this.sendSnapshot(m);
  }

  unsubscribe(channel: Channel, sub: string): boolean {
    const m = this.byChannel.get(channel)?.get(sub);
    if (!m) return false;
    this.byChannel.get(channel)!.delete(sub);
    const set = this.members.get(m.view)!;
    set.delete(m);
    if (set.size === 0) {
      this.members.delete(m.view);
      this.views.delete(m.view.key);
      m.view.close();
    }
    return true;
  }

  /** A fresh snapshot for a client that saw a gap. */
  resync(channel: Channel, sub: string): boolean {
    const m = this.byChannel.get(channel)?.get(sub);
    if (!m) return false;
    this.sendSnapshot(m);
    return true;
  }

  has(channel: Channel, sub: string): boolean {
    return this.byChannel.get(channel)?.has(sub) ?? false;
  }

  count(channel: Channel): number {
    return this.byChannel.get(channel)?.size ?? 0;
  }

  drop(channel: Channel): void {
    for (const sub of [...(this.byChannel.get(channel)?.keys() ?? [])]) this.unsubscribe(channel, sub);
    this.byChannel.delete(channel);
  }

  viewCount(): number {
    return this.views.size;
  }

  subscriptionCount(): number {
    let n = 0;
    for (const s of this.members.values()) n += s.size;
    return n;
  }

  close(): void {
    clearInterval(this.figuresTimer);
    if (this.drainTimer) clearInterval(this.drainTimer);
    this.unlisten.forEach((u) => u());
    this.views.forEach((v) => v.close());
  }

  private changed(table: TableName, kind: ChangeKind): void {
    if (kind === 'figures') {
      this.dirty.add(table);
      return;
    }
    if (this.pending.has(table)) return;
    this.pending.add(table);
    setImmediate(() => this.flush(table));
  }

  private flush(table: TableName): void {
    this.pending.delete(table);
    this.dirty.delete(table);
    this.stats.flushes += 1;
    const now = Date.now();
    for (const [view, set] of this.members) {
      if (view.tableName !== table) continue;
      let tail: HeldParts | undefined;
      try {
        tail = view.refresh(now);
      } catch (e) {
        // One view failing (a record the table should not have produced) leaves the others served.
        this.stats.errors.push(`${new Date(now).toISOString()} view ${view.key}: ${(e as Error).message}`);
        if (this.stats.errors.length > 20) this.stats.errors.shift();
        continue;
      }
      if (tail === undefined) continue;
      for (const m of set) {
        if (m.behind) continue;
        // A snapshot bigger than the bound still on its way must not count as falling behind,
        // or a large view would get snapshot after snapshot and never a delta.
        if (m.channel.bufferedAmount() > this.opts.maxBufferedBytes + m.snapshotBytes) {
          this.fallBehind(m);
          continue;
        }
        m.seq += 1;
        m.channel.send(messageHead('delta', m.sub, m.seq), tail, 'delta');
      }
      tail.release();
    }
  }

  private sendSnapshot(m: Member): void {
    if (m.channel.bufferedAmount() > this.opts.maxBufferedBytes) {
      this.fallBehind(m);
      return;
    }
    m.behind = false;
    m.seq += 1;
    const body = m.view.snapshot();
    m.snapshotBytes = body.bytes;
    m.channel.send(messageHead('snapshot', m.sub, m.seq), body, 'snapshot');
  }

  private fallBehind(m: Member): void {
    if (!m.behind) this.stats.fellBehind += 1;
    m.behind = true;
    this.drainTimer ??= setInterval(() => this.checkDrained(), 50);
  }

  /** Clients that fell behind and have emptied their buffer get a snapshot. */
  private checkDrained(): void {
    let waiting = 0;
    for (const set of this.members.values()) {
      for (const m of set) {
        if (!m.behind) continue;
        if (m.channel.bufferedAmount() <= this.opts.maxBufferedBytes / 4) this.sendSnapshot(m);
        else waiting += 1;
      }
    }
    if (waiting === 0 && this.drainTimer) {
      clearInterval(this.drainTimer);
      this.drainTimer = undefined;
    }
  }
}
