// What the privileged parent and the unprivileged server process say to each other over the IPC
// channel. The parent sends everything the server needs; the server only says it is ready, so the
// parent never acts on anything a compromised server could make up.
import type { FlowRecord, KernelFeatures, LinkRecord } from '../../protocol/index.js';
import type { CollectorConfig } from '../config.js';
import type { ChangeKind } from '../tables/types.js';

export type MirroredTable = 'links' | 'flows';

/** One health provider's latest answer: its value, or the error it threw. */
export type HealthReport = { value: unknown } | { error: string };

export type ParentMessage =
  | { type: 'init'; config: CollectorConfig; token: string; tls?: { cert: string; key: string }; features: KernelFeatures; parentPid: number }
  /** Sent with the listening socket as its handle. */
  | { type: 'listen' }
  | TableDelta
  | { type: 'health'; components: Record<string, HealthReport> }
  | { type: 'stop'; reason: string };

export interface TableDelta {
  type: 'table';
  table: MirroredTable;
  kind: ChangeKind;
  /** The records replace the whole table (a new server process, or the first feed). */
  reset: boolean;
  /** Last chunk of this change: listeners are told once it is applied. */
  last: boolean;
  /** New records, whole. */
  upsert: (LinkRecord | FlowRecord)[];
  /** Records that changed: the top-level fields that moved (bytes, rates, lastSeen …), and those gone. */
  patch: RecordPatch[];
  remove: string[];
}

export interface RecordPatch {
  id: string;
  set: Record<string, unknown>;
  unset?: string[];
}

export type ChildMessage = { type: 'ready'; port: number };
