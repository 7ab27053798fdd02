// What the server needs from a table, whatever feeds it (the kernel, or a test).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import { byId, inIdOrder } from '../../protocol/record-order.js';

/** topology: a record appeared or went away; figures: only counts, rates or RTT moved. */
export type ChangeKind = 'topology' | 'figures';

export interface LiveTable<R extends { id: string }> {
  /**
   * Current records, names resolved, in a stable order (by id). Readers never change the array or
   * the records; a table may hand out the same ones again and change a record in place (its
   * top-level fields; a nested object is replaced, never changed).
   */
  records(): R[];
  /**
   * The same records read one at a time, for a reader that keeps none of them (the privileged
   * parent's feed): a table that builds its records from columns need not hold them all.
   * Without it, readers walk records().
   */
  walk?(): RecordWalk<R>;
  size(): number;
  /** Called on every change; returns a function that removes the listener. */
  onChange(listener: (kind: ChangeKind) => void): () => void;
}

export type LinkTable = LiveTable<LinkRecord>;
export type FlowTable = LiveTable<FlowRecord>;

/**
 * A table's records in id order as of when the walk was taken, each built when read. A record
 * that left the table since reads as undefined; one that changed reads as it is now.
 */
export interface RecordWalk<R extends { id: string }> {
  readonly size: number;
  id(i: number): string;
  at(i: number): R | undefined;
}

/** A walk over records already built, sorted by id first where they are not. */
export function arrayWalk<R extends { id: string }>(records: R[]): RecordWalk<R> {
  const rs = inIdOrder(records) ? records : [...records].sort(byId);
  return { size: rs.length, id: (i) => rs[i]!.id, at: (i) => rs[i] };
}

/** The table's walk where it has one, else one over its records. */
export function walkOf<R extends { id: string }>(table: LiveTable<R>): RecordWalk<R> {
  return table.walk ? table.walk() : arrayWalk(table.records());
}
