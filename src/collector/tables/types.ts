// What the server needs from a table, whatever feeds it (the kernel, or a test).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';

/** topology: a record appeared or went away; figures: only counts, rates or RTT moved. */
export type ChangeKind = 'topology' | 'figures';

export interface LiveTable<R extends { id: string }> {
  /** Current records, names resolved, in a stable order (by id). */
  records(): R[];
  size(): number;
  /** Called on every change; returns a function that removes the listener. */
  onChange(listener: (kind: ChangeKind) => void): () => void;
}

export type LinkTable = LiveTable<LinkRecord>;
export type FlowTable = LiveTable<FlowRecord>;
