// Parent side of a mirrored table: on every change of the real table, sends the server process
// only the records that differ from what it last sent, and of a changed record only the fields
// that moved (a figures round is mostly counters; endpoints stay). Tables change records in place,
// so what was sent is kept as values, one row per record in id order (SentRows); tables hand out
// that order, so one walk finds new, changed and gone records with no index of its own. Changes
// that come together go out as one delta, in chunks sent as the walk fills them and the channel
// takes them, so that a round where every link changed is never one huge message nor all its
// patches (or their JSON, waiting for a busy server process to read it) held at once. Topology
// changes go at once; figures at most every figuresEveryMs (the server sends them on a cadence
// anyway).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import { walkOf, type ChangeKind, type LiveTable } from '../tables/types.js';
import type { MirroredTable, RecordPatch, TableDelta } from './messages.js';
import { SentRows } from './sent-rows.js';

/**
 * Records per IPC message. A message's JSON text is one string on both sides, and node's IPC
 * reader joins what it reads before it splits messages: a text over V8's large-object size (128 KB)
 * goes straight to the old generation and piles up there until a full collection. 400 patches (about
 * 40 KB) keep what it joins under that; at 1,000 (about 100 KB) its text outlived the young
 * generation, about 1.7 MB a round in the server (a sampling profile). The privsep bench, resident
 * at the end of the hour: 328 MB at 1,000, 303 and 302 at 400, 316 at 200 (one run each but 400).
 */
export const CHUNK = 400;

/**
 * Messages the channel may hold for the server process at once (about 50 KB each); then the walk
 * waits for it. Node keeps a message it could not write yet in a buffer of its own, so this bounds
 * the parent's JSON in flight: at 250 (a whole round of 100,000 changed links) the parent held up to
 * 33 MB of it a round, at 25 about 1 MB. The walk reads the table as it is when it goes on, so
 * waiting holds no records (when the feed held the records of the round, 1 or 8 made it overrun
 * the next round and hold three rounds of them).
 */
export const IN_FLIGHT = 25;

/** Sends one message to the server process; `written` runs once the channel has taken it. */
export type SendDelta = (delta: TableDelta, written: () => void) => void;

export class TableFeed<R extends LinkRecord | FlowRecord> {
  /** What the server process holds: the records last sent, in id order. */
  private sent = new SentRows();
  /** The delta being sent, a message at a time. */
  private walking: Generator<TableDelta, void> | undefined;
  /** Messages sent that the channel has not taken yet. */
  private inFlight = 0;
  /** Counts resets: a message sent before the last one belongs to a channel that is gone. */
  private channel = 0;
  private pumping = false;
  private pending: ChangeKind | undefined;
  private immediate = false;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private readonly unlisten: () => void;

  constructor(
    private readonly name: MirroredTable,
    private readonly source: LiveTable<R>,
    private readonly send: SendDelta,
    private readonly figuresEveryMs = 0,
    private readonly inFlightMax = IN_FLIGHT,
  ) {
    this.unlisten = source.onChange((kind) => {
      this.pending = this.pending === 'topology' ? 'topology' : kind;
      this.schedule();
    });
  }

  /**
   * The whole table, for a new server process that has nothing yet: a delta still being sent is
   * dropped, and what the old channel held no longer counts.
   */
  reset(): void {
    this.channel += 1;
    this.inFlight = 0;
    this.start(this.walk('topology', true));
  }

  /**
   * Sends what changed since the last delta, or once the delta being sent is through. A message is
   * built only while fewer than inFlightMax wait in the channel: a server process that reads slowly
   * holds up the walk instead of the parent queueing its JSON without bound, and what changes
   * meanwhile goes out together in the next delta.
   */
  flushNow(kind: ChangeKind): void {
    if (this.walking) {
      this.pending = this.pending === 'topology' ? 'topology' : kind;
      return;
    }
    this.start(this.walk(kind, false));
  }

  close(): void {
    this.unlisten();
    clearTimeout(this.timer);
    this.walking = undefined;
  }

  private start(walk: Generator<TableDelta, void>): void {
    this.walking = walk;
    this.pump();
  }

  /** Sends the walk's next messages while fewer than inFlightMax wait in the channel. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.walking && this.inFlight < this.inFlightMax) {
        const step = this.walking.next();
        if (step.done) {
          this.walking = undefined;
          if (this.pending !== undefined) this.schedule();
          break;
        }
        const channel = this.channel;
        this.inFlight += 1;
        this.send(step.value, () => {
          if (channel !== this.channel) return;
          this.inFlight -= 1;
          this.pump();
        });
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The messages of one delta. Both lists are in id order, so one walk over them finds new,
   * changed and gone records; a reset sends every record. The table's records are read one at a
   * time (walkOf), so the parent holds one at a time where the table builds them. A record's row
   * is written as it is compared, so the rows hold what went out even when the table changes the
   * record before the walk is through; a new record goes out as a copy, for the same reason.
   */
  private *walk(kind: ChangeKind, reset: boolean): Generator<TableDelta, void> {
    const next = walkOf(this.source);
    const before = reset ? new SentRows() : this.sent;
    // Figures rounds keep the order: their rows are written in place.
    const rows = before.sameOrder(next) ? before : new SentRows(next.size);
    this.sent = rows;
    const ready: TableDelta[] = [];
    const out = new Chunker<R>(this.name, kind, reset, (d) => ready.push(d));
    let i = 0;
    let written = 0;
    for (let j = 0; j < next.size; j++) {
      const id = next.id(j);
      while (i < before.size && before.ids[i]! < id) out.remove(before.ids[i++]!);
      const sent = i < before.size && before.ids[i] === id;
      const r = next.at(j);
      // Left the table while this walk waited for the channel: gone here, as the next delta would say.
      if (r === undefined) {
        if (sent) out.remove(before.ids[i++]!);
        continue;
      }
      if (sent) {
        const p = before.diff(i++, r);
        if (p) out.patch(p);
      } else out.upsert({ ...r });
      rows.write(written++, r);
      if (ready.length > 0) yield ready.shift()!;
    }
    while (i < before.size) out.remove(before.ids[i++]!);
    rows.truncate(written);
    out.end();
    while (ready.length > 0) yield ready.shift()!;
  }

  private schedule(): void {
    if (this.immediate || this.walking) return;
    const wait = this.pending === 'topology' ? 0 : this.lastFlush + this.figuresEveryMs - Date.now();
    if (wait <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.immediate = true;
      setImmediate(() => {
        this.immediate = false;
        this.flush();
      });
    } else this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    this.lastFlush = Date.now();
    const kind = this.pending ?? 'figures';
    this.pending = undefined;
    this.flushNow(kind);
  }
}

/**
 * One delta as messages of at most CHUNK records, sent as they fill, so that a round where every
 * record changed never holds all its patches at once. A full message waits until the next item
 * shows whether it is the last.
 */
class Chunker<R extends LinkRecord | FlowRecord> {
  private upserts: R[] = [];
  private patches: RecordPatch[] = [];
  private removes: string[] = [];
  private full: TableDelta | undefined;
  private first = true;

  constructor(
    private readonly table: MirroredTable,
    private readonly kind: ChangeKind,
    private readonly reset: boolean,
    private readonly send: (delta: TableDelta) => void,
  ) {}

  upsert(r: R): void {
    this.upserts.push(r);
    this.added();
  }

  patch(p: RecordPatch): void {
    this.patches.push(p);
    this.added();
  }

  remove(id: string): void {
    this.removes.push(id);
  }

  /** Sends what is left (a reset is sent even when empty). */
  end(): void {
    if (this.upserts.length + this.patches.length + this.removes.length > 0 || (this.reset && this.first)) this.flush(true);
    else if (this.full) {
      this.full.last = true;
      this.send(this.full);
      this.full = undefined;
    }
  }

  private added(): void {
    if (this.upserts.length + this.patches.length < CHUNK) return;
    this.flush(false);
  }

  /** Moves the items gathered into a message; the one before it goes out, now known not to be the last. */
  private flush(last: boolean): void {
    if (this.full) this.send(this.full);
    const m: TableDelta = { type: 'table', table: this.table, kind: this.kind, reset: this.reset && this.first, last, upsert: this.upserts, patch: this.patches, remove: this.removes };
    this.first = false;
    this.upserts = [];
    this.patches = [];
    this.removes = [];
    if (last) {
      this.full = undefined;
      this.send(m);
    } else this.full = m;
  }
}
