// What the server needs from a table, whatever feeds it (the kernel, or a test).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';

/** topology: a record appeared or went away; figures: only counts, rates or RTT moved. */
export type ChangeKind = 'topology' | 'figures';

export interface LiveTable<R extends { id: string }> {
  /**
   * Current records, names resolved, in a stable order (by id). Readers never change the array or
   * the records; a table may hand out the same ones again and change a record in place (its
   * top-level fields; a nested object is replaced, never changed).
   */
  records(): R[];
  size(): number;
  /** Called on every change; returns a function that removes the listener. */
  onChange(listener: (kind: ChangeKind) => void): () => void;
}

export type LinkTable = LiveTable<LinkRecord>;
export type FlowTable = LiveTable<FlowRecord>;
