// The collector's own short memory, so a dashboard with a time range works without a TSDB.
// Every `resolution` the table is sampled and each record's counters are compared with the last
// sample; only records that moved are stored for that interval, as (slot, amounts) in typed
// arrays: amounts in 4 bytes each while they are whole numbers below 2^32 (bytes moved in one
// interval almost always are), and the slot list shared with the interval before when the same
// records moved (every busy link moving in every interval). Intervals older than the window are
// dropped. When the estimate of memory used passes the budget, the two adjacent intervals whose
// combined span is smallest for their age merge into one: old history coarsens first, recent
// history keeps its resolution.
import { byId } from '../../protocol/record-order.js';

export interface HistoryOptions {
  resolutionMs: number;
  windowMs: number;
  budgetBytes: number;
}

// 32 MiB holds 25 intervals of 100,000 links that all moved (4 bytes an amount, shared slots)
// beside their 13 MB of bookkeeping: an hour at about 2.5 minutes on average, the latest finest.
export const DEFAULT_HISTORY: HistoryOptions = { resolutionMs: 10_000, windowMs: 3_600_000, budgetBytes: 32 * 1024 * 1024 };

/** How a table's records become counters, and counters moved within a range become a record again. */
export interface HistoryFigures<R> {
  /** Names of the cumulative counters, in order (e.g. bytesSent, bytesReceived). */
  names: readonly string[];
  read(r: R, out: Float64Array, at: number): void;
  /** The record as a query answer: `moved` holds what each counter moved within [from, to]. */
  answer(r: R, moved: Float64Array, from: number, to: number): R;
}

/** Amounts: 4 bytes each while every one is a whole number below 2^32, else 8. */
type Amounts = Uint32Array | Float64Array;
const MAX_U32 = 0xffffffff;

interface Interval {
  start: number;
  end: number;
  /** Record slots, ascending; never written once stored (intervals may share it). */
  slots: Uint32Array;
  /** figures.names.length amounts per slot. */
  values: Amounts;
}

/** The first n amounts, as compact as they allow. */
function compact(values: Float64Array, n: number): Amounts {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= MAX_U32 && Number.isInteger(v))) return values.slice(0, n);
  }
  return Uint32Array.from(values.subarray(0, n));
}

/** `values` with a + b written at i: widened to 8 bytes first when the sum does not fit in 4. */
function addAt(values: Amounts, i: number, sum: number): Amounts {
  const out = values instanceof Uint32Array && !(sum <= MAX_U32 && Number.isInteger(sum)) ? Float64Array.from(values) : values;
  out[i] = sum;
  return out;
}

function sameSlots(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Cost of one stored record slot outside the intervals (Map entry, array cells; the id string is
// the record's): 65 bytes measured on the heap at 100,000 slots.
const SLOT_OVERHEAD = 72;
const INTERVAL_OVERHEAD = 200;

export class History<R extends { id: string }> {
  private readonly opts: HistoryOptions;
  private readonly width: number;
  private intervals: Interval[] = [];
  private readonly slotOf = new Map<string, number>();
  private slotRecord: (R | undefined)[] = [];
  private slotRefs: number[] = [];
  private slotSeen: number[] = [];
  private baseline = new Float64Array(0);
  private readonly freeSlots: number[] = [];
  private generation = 0;
  private lastSample: number;
  private readonly scratch: Float64Array;
  private movedSlots = new Uint32Array(0);
  private movedValues = new Float64Array(0);
  private orderedValues = new Float64Array(0);

  constructor(
    private readonly figures: HistoryFigures<R>,
    opts: Partial<HistoryOptions> = {},
    start = Date.now(),
  ) {
    this.opts = { ...DEFAULT_HISTORY, ...opts };
    this.width = figures.names.length;
    this.lastSample = start;
    this.scratch = new Float64Array(this.width);
  }

  get resolutionMs(): number {
    return this.opts.resolutionMs;
  }

  /** Closes the interval ending at `now` with what each record moved since the last sample. */
  sample(records: R[], now: number): void {
    this.generation += 1;
    const w = this.width;
    // Moved slots and their amounts go to scratch arrays kept between samples, so a sample
    // allocates only the interval it stores.
    if (this.movedSlots.length < records.length) {
      this.movedSlots = new Uint32Array(records.length);
      this.movedValues = new Float64Array(records.length * w);
    }
    let n = 0;
    for (const r of records) {
      const slot = this.slotFor(r.id);
      this.slotRecord[slot] = r;
      this.slotSeen[slot] = this.generation;
      this.figures.read(r, this.scratch, now);
      let any = false;
      for (let k = 0; k < w; k++) {
        const cur = this.scratch[k]!;
        const base = this.baseline[slot * w + k]!;
        // A counter that went backwards was reset: everything it shows now is new.
        const d = cur >= base ? cur - base : cur;
        this.baseline[slot * w + k] = cur;
        this.movedValues[n * w + k] = d;
        if (d !== 0) any = true;
      }
      if (any) this.movedSlots[n++] = slot;
    }
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const moved = this.movedSlots;
    order.sort((a, b) => moved[a]! - moved[b]!);
    let slots: Uint32Array = new Uint32Array(n);
    // Sorted into order in scratch, then stored at the size the amounts need.
    if (this.orderedValues.length < n * w) this.orderedValues = new Float64Array(this.movedValues.length);
    const ordered = this.orderedValues;
    for (let i = 0; i < n; i++) {
      const idx = order[i]!;
      slots[i] = moved[idx]!;
      this.slotRefs[moved[idx]!]! += 1;
      for (let k = 0; k < w; k++) ordered[i * w + k] = this.movedValues[idx * w + k]!;
    }
    const prev = this.intervals[this.intervals.length - 1];
    if (prev && sameSlots(prev.slots, slots)) slots = prev.slots;
    this.intervals.push({ start: this.lastSample, end: now, slots, values: compact(ordered, n * w) });
    this.lastSample = now;
    this.expire(now);
    this.fitBudget(now);
    this.sweep();
  }

  /**
   * Records that moved within [from, to], each with what it moved. Intervals are counted whole
   * when they overlap the range; with `current`, the interval still open (since the last
   * sample) counts too.
   */
  query(from: number, to: number, current?: R[], now = Date.now()): R[] {
    const w = this.width;
    const sums = new Map<number, Float64Array>();
    const add = (slot: number, values: Amounts, offset: number): void => {
      let s = sums.get(slot);
      if (!s) sums.set(slot, (s = new Float64Array(w)));
      for (let k = 0; k < w; k++) s[k]! += values[offset + k]!;
    };
    for (const iv of this.intervals) {
      if (iv.end <= from || iv.start >= to) continue;
      for (let i = 0; i < iv.slots.length; i++) add(iv.slots[i]!, iv.values, i * w);
    }
    const latest = new Map<number, R>();
    if (current && to > this.lastSample && from < now) {
      // One buffer for every record: add() copies what it is given.
      const open = new Float64Array(w);
      for (const r of current) {
        const slot = this.slotOf.get(r.id);
        this.figures.read(r, this.scratch, now);
        let any = false;
        for (let k = 0; k < w; k++) {
          const base = slot === undefined ? 0 : this.baseline[slot * w + k]!;
          const cur = this.scratch[k]!;
          open[k] = cur >= base ? cur - base : cur;
          if (open[k] !== 0) any = true;
        }
        if (!any) continue;
        // Records first seen since the last sample have no slot yet: give them a temporary key.
        const key = slot ?? -1 - latest.size;
        latest.set(key, r);
        add(key, open, 0);
      }
    }
    const out: R[] = [];
    for (const [slot, moved] of sums) {
      const r = latest.get(slot) ?? this.slotRecord[slot];
      if (r) out.push(this.figures.answer(r, moved, from, to));
    }
    return out.sort(byId);
  }

  /** Estimated bytes held (typed arrays and per-record bookkeeping; records are shared with the table). */
  bytes(): number {
    let b = this.slotRecord.length * SLOT_OVERHEAD + this.baseline.byteLength + this.movedSlots.byteLength + this.movedValues.byteLength + this.orderedValues.byteLength;
    // Intervals that share a slot list are next to each other.
    let last: Uint32Array | undefined;
    for (const iv of this.intervals) {
      b += INTERVAL_OVERHEAD + iv.values.byteLength + (iv.slots === last ? 0 : iv.slots.byteLength);
      last = iv.slots;
    }
    return b;
  }

  /** The intervals held, oldest first: their span and how many records each stores. */
  layout(): { start: number; end: number; records: number }[] {
    return this.intervals.map((iv) => ({ start: iv.start, end: iv.end, records: iv.slots.length }));
  }

  private slotFor(id: string): number {
    let slot = this.slotOf.get(id);
    if (slot !== undefined) return slot;
    slot = this.freeSlots.pop() ?? this.slotRecord.length;
    this.slotOf.set(id, slot);
    if (slot === this.slotRecord.length) {
      this.slotRecord.push(undefined);
      this.slotRefs.push(0);
      this.slotSeen.push(0);
    }
    this.slotRefs[slot] = 0;
    if (this.baseline.length < (slot + 1) * this.width) {
      const grown = new Float64Array(Math.max(1024, this.baseline.length * 2));
      grown.set(this.baseline);
      this.baseline = grown;
    }
    this.baseline.fill(0, slot * this.width, (slot + 1) * this.width);
    return slot;
  }

  private release(iv: Interval): void {
    for (const s of iv.slots) this.slotRefs[s]! -= 1;
  }

  private expire(now: number): void {
    const horizon = now - this.opts.windowMs;
    let n = 0;
    while (n < this.intervals.length && this.intervals[n]!.end <= horizon) this.release(this.intervals[n++]!);
    if (n > 0) this.intervals = this.intervals.slice(n);
  }

  /** Merges the pair whose span is smallest for its age, so resolution falls off with age. */
  private fitBudget(now: number): void {
    while (this.intervals.length > 1 && this.bytes() > this.opts.budgetBytes) {
      let best = 0;
      let bestCost = Infinity;
      for (let i = 0; i + 1 < this.intervals.length; i++) {
        const b = this.intervals[i + 1]!;
        const cost = (b.end - this.intervals[i]!.start) / (now - b.end + this.opts.resolutionMs);
        if (cost < bestCost) {
          bestCost = cost;
          best = i;
        }
      }
      this.intervals.splice(best, 2, this.merge(this.intervals[best]!, this.intervals[best + 1]!));
    }
  }

  /**
   * One interval covering both, amounts summed per slot (both slot lists are ascending). When one
   * holds every slot of the other (records that moved in both intervals, the usual case) the other
   * is added into it in place; otherwise the union is allocated at its exact size.
   */
  private merge(a: Interval, b: Interval): Interval {
    const w = this.width;
    let i = 0;
    let j = 0;
    let n = 0;
    while (i < a.slots.length || j < b.slots.length) {
      const sa = i < a.slots.length ? a.slots[i]! : Infinity;
      const sb = j < b.slots.length ? b.slots[j]! : Infinity;
      if (sa <= sb) i++;
      if (sb <= sa) j++;
      n++;
    }
    const into = n === a.slots.length ? a : n === b.slots.length ? b : undefined;
    const slots = into ? into.slots : new Uint32Array(n);
    let values: Amounts = into ? into.values : a.values instanceof Uint32Array && b.values instanceof Uint32Array ? new Uint32Array(n * w) : new Float64Array(n * w);
    const other = into === a ? b : a;
    if (into) {
      // Walk the larger list; add the other's amounts where its slots come up (the slots stay as
      // they are: another interval may share them).
      let o = 0;
      for (let m = 0; m < n && o < other.slots.length; m++) {
        if (slots[m] !== other.slots[o]) continue;
        for (let k = 0; k < w; k++) values = addAt(values, m * w + k, values[m * w + k]! + other.values[o * w + k]!);
        this.slotRefs[slots[m]!]! -= 1;
        o++;
      }
      return { start: a.start, end: b.end, slots, values };
    }
    i = 0;
    j = 0;
    for (let m = 0; m < n; m++) {
      const sa = i < a.slots.length ? a.slots[i]! : Infinity;
      const sb = j < b.slots.length ? b.slots[j]! : Infinity;
      const s = Math.min(sa, sb);
      slots[m] = s;
      for (let k = 0; k < w; k++) values = addAt(values, m * w + k, (sa === s ? a.values[i * w + k]! : 0) + (sb === s ? b.values[j * w + k]! : 0));
      if (sa === s) i++;
      if (sb === s) j++;
      if (sa === s && sb === s) this.slotRefs[s]! -= 1;
    }
    return { start: a.start, end: b.end, slots, values };
  }

  /** Forgets records that left the table and that no interval mentions any more. */
  private sweep(): void {
    for (const [id, slot] of this.slotOf) {
      if (this.slotSeen[slot] !== this.generation && this.slotRefs[slot] === 0) {
        this.slotOf.delete(id);
        this.slotRecord[slot] = undefined;
        this.freeSlots.push(slot);
      }
    }
  }
}
