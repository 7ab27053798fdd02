// What the server process was last sent of a table, one row per record in id order, field by
// field: numbers in Float64Array columns (NaN where a record has none), other values by reference.
// Tables change a record in place (its top-level fields; a nested object is replaced, never
// changed), so the feed cannot keep the records it sent to compare with: this keeps their values
// instead, about 100 bytes a link where copies of the records would cost about 300 and be
// garbage a round later.
import type { RecordPatch } from './messages.js';
import { sameJson } from '../../protocol/same-json.js';

interface Column {
  numbers: Float64Array | undefined;
  values: unknown[] | undefined;
}

export class SentRows {
  readonly ids: string[];
  /** Field names and their columns, side by side (walked per record: no entry arrays). */
  private readonly names: string[] = [];
  private readonly columns: Column[] = [];
  private readonly known = new Set<string>();

  constructor(private rows = 0) {
    this.ids = new Array<string>(rows);
  }

  get size(): number {
    return this.rows;
  }

  /** True when `records` holds the same ids in the same order (the rows can be written in place). */
  sameOrder(records: { readonly size: number; id(i: number): string }): boolean {
    if (records.size !== this.rows) return false;
    for (let i = 0; i < records.size; i++) if (records.id(i) !== this.ids[i]) return false;
    return true;
  }

  /** Keeps the first n rows: the records of the others left before their rows were written. */
  truncate(n: number): void {
    if (n >= this.rows) return;
    this.rows = n;
    this.ids.length = n;
  }

  /** The top-level fields of `r` that differ from row i; undefined when none do. */
  diff(i: number, r: object): RecordPatch | undefined {
    const a = r as Record<string, unknown>;
    let set: Record<string, unknown> | undefined;
    let unset: string[] | undefined;
    for (let f = 0; f < this.names.length; f++) {
      const k = this.names[f]!;
      const v = a[k];
      if (same(this.columns[f]!, i, v)) continue;
      // JSON would drop an undefined value, and the old one would stay.
      if (v === undefined) (unset ??= []).push(k);
      else (set ??= {})[k] = v;
    }
    for (const k in a) if (k !== 'id' && !this.known.has(k) && a[k] !== undefined) (set ??= {})[k] = a[k];
    if (!set && !unset) return undefined;
    const id = a.id as string;
    return unset ? { id, set: set ?? {}, unset } : { id, set: set! };
  }

  /** Row i now holds `r` as sent. */
  write(i: number, r: object): void {
    const a = r as Record<string, unknown>;
    this.ids[i] = a.id as string;
    for (let f = 0; f < this.names.length; f++) store(this.columns[f]!, i, a[this.names[f]!]);
    // Keys are walked with for-in (records are plain objects), not Object.keys: no array a record.
    for (const k in a) {
      if (k === 'id' || this.known.has(k)) continue;
      const col: Column = { numbers: undefined, values: undefined };
      if (typeof a[k] === 'number') col.numbers = new Float64Array(this.rows).fill(NaN);
      else col.values = new Array<unknown>(this.rows);
      this.names.push(k);
      this.columns.push(col);
      this.known.add(k);
      store(col, i, a[k]);
    }
  }
}

function same(col: Column, i: number, v: unknown): boolean {
  if (col.numbers) return typeof v === 'number' ? col.numbers[i] === v : v === undefined && Number.isNaN(col.numbers[i]);
  const old = col.values![i];
  return old === v || sameJson(old, v);
}

function store(col: Column, i: number, v: unknown): void {
  if (col.numbers) {
    if (typeof v === 'number') {
      col.numbers[i] = v;
      return;
    }
    if (v === undefined) {
      col.numbers[i] = NaN;
      return;
    }
    // A field that held only numbers so far: its column keeps values from now on.
    col.values = Array.from(col.numbers, (n) => (Number.isNaN(n) ? undefined : n));
    col.numbers = undefined;
  }
  col.values![i] = v;
}
