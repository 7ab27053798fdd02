// Server side of a mirrored table: a LiveTable holding what the parent sent, so the server code
// reads it exactly as it would read the kernel's tables in one process. Its id order is kept up
// as deltas arrive (new ones merged in), never re-sorted whole. A patch changes its record object
// in place, so whoever holds a record sees its later figures.
// Equal nested objects (endpoints, connection counts) and strings are shared by the records (ValuePool).
import type { ChangeKind, LiveTable } from '../tables/types.js';
import type { TableDelta } from './messages.js';
import { byId } from '../../protocol/record-order.js';
import { ValuePool } from './value-pool.js';

/** Index of `id` in `rows` sorted by id, or -1. */
function find<R extends { id: string }>(rows: R[], id: string): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = rows[mid]!.id;
    if (m === id) return mid;
    if (m < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Two id-sorted arrays as one. */
function merge<R extends { id: string }>(a: R[], b: R[]): R[] {
  const out: R[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]!.id < b[j]!.id ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

export class MirrorTable<R extends { id: string }> implements LiveTable<R> {
  /**
   * The records in id order, and nothing else: a patch finds its record by the order (a delta's
   * patches come in id order, so mostly right after the last one), where a Map of 100,000 ids
   * held 3.5 MB of its own.
   */
  private rows: R[] = [];
  /** `rows` was handed out by records(): the next change to the array works on a copy. */
  private handedOut = false;
  /** Where the last patch's record was. */
  private cursor = 0;
  private kind: ChangeKind | undefined;
  private pool = new ValuePool();
  private readonly listeners = new Set<(kind: ChangeKind) => void>();

  records(): R[] {
    this.handedOut = true;
    return this.rows;
  }

  size(): number {
    return this.rows.length;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(delta: Pick<TableDelta, 'kind' | 'reset' | 'last' | 'upsert' | 'patch' | 'remove'>): void {
    if (delta.reset) {
      this.rows = [];
      this.handedOut = false;
      this.pool = new ValuePool();
    }
    // Whoever holds the array records() gave keeps the records it had: a record replaced whole
    // needs a copy (one per change, not per chunk of a delta). Patches, new and removed records
    // leave the array as it is or make a new one anyway.
    let rows = this.rows;
    const own = (): R[] => (rows === this.rows && this.handedOut ? (rows = rows.slice()) : rows);
    const added: R[] = [];
    for (const r of delta.upsert as unknown as R[]) {
      this.pool.shareFields(r);
      const i = find(rows, r.id);
      if (i >= 0) own()[i] = r;
      else added.push(r);
    }
    if (added.length > 0) {
      added.sort(byId);
      // A reset's chunks come in id order: each one goes at the end.
      if (rows.length === 0 || rows[rows.length - 1]!.id < added[0]!.id) {
        const to = own();
        for (const r of added) to.push(r);
      } else rows = merge(rows, added);
    }
    for (const p of delta.patch) {
      const i = this.near(rows, p.id);
      // The parent patches only records it sent before, over one ordered channel: a miss is a bug,
      // and the server process ending makes the parent start a new one from a full table.
      if (i < 0) throw new Error(`${p.id}: patch for a record never sent`);
      const r = rows[i] as Record<string, unknown>;
      // In place: a replaced record would live until the next round, long enough to reach the old
      // generation, so a round where every link changed left 100,000 dead records there.
      Object.assign(r, this.pool.shareFields(p.set));
      for (const k of p.unset ?? []) delete r[k];
    }
    if (delta.remove.length > 0) {
      const gone = new Set(delta.remove);
      const left = rows.filter((r) => !gone.has(r.id));
      if (left.length < rows.length) rows = left;
    }
    if (rows !== this.rows) {
      this.rows = rows;
      this.handedOut = false;
    }
    this.kind = this.kind === 'topology' ? 'topology' : delta.kind;
    if (!delta.last) return;
    const kind = this.kind;
    this.kind = undefined;
    for (const l of this.listeners) l(kind);
  }

  /** Index of `id` in `rows`, looked for first just after the last one found. */
  private near(rows: R[], id: string): number {
    const c = this.cursor;
    const i = c < rows.length && rows[c]!.id === id ? c : c + 1 < rows.length && rows[c + 1]!.id === id ? c + 1 : find(rows, id);
    if (i >= 0) this.cursor = i;
    return i;
  }
}
