// Parent side of a mirrored table: on every change of the real table, sends the server process
// only the records that differ from what it last sent, and of a changed record only the fields
// that moved (a figures round is mostly counters; endpoints stay). Tables hand out a new record
// object when a record changes (the server's views rely on that too), so an unchanged object is
// skipped at once and a new one is compared field by field. Changes that come together go out as one delta, in
// chunks so that a round where every link changed is never one huge message. Topology changes go
// at once; figures at most every figuresEveryMs (the server sends them on a cadence anyway).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import type { ChangeKind, LiveTable } from '../tables/types.js';
import type { MirroredTable, RecordPatch, TableDelta } from './messages.js';

/** Records per IPC message. */
export const CHUNK = 5000;

/** The top-level fields of `after` that differ from `before`; undefined when none do. */
export function diffRecord(before: object, after: object): RecordPatch | undefined {
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const set: Record<string, unknown> = {};
  const unset: string[] = [];
  let changed = false;
  for (const k of Object.keys(a)) {
    if (sameJson(b[k], a[k])) continue;
    changed = true;
    // JSON would drop an undefined value, and the old one would stay.
    if (a[k] === undefined) unset.push(k);
    else set[k] = a[k];
  }
  for (const k of Object.keys(b)) {
    if (!(k in a) && b[k] !== undefined) {
      changed = true;
      unset.push(k);
    }
  }
  if (!changed) return undefined;
  return unset.length > 0 ? { id: a.id as string, set, unset } : { id: a.id as string, set };
}

/** Equality of two JSON values (records hold nothing else). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

export class TableFeed<R extends LinkRecord | FlowRecord> {
  private sent = new Map<string, R>();
  private pending: ChangeKind | undefined;
  private immediate = false;
  private timer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private readonly unlisten: () => void;

  constructor(
    private readonly name: MirroredTable,
    private readonly source: LiveTable<R>,
    private readonly send: (delta: TableDelta) => void,
    private readonly figuresEveryMs = 0,
  ) {
    this.unlisten = source.onChange((kind) => {
      this.pending = this.pending === 'topology' ? 'topology' : kind;
      this.schedule();
    });
  }

  /** The whole table, for a server process that has nothing yet. */
  reset(): void {
    const records = this.source.records();
    this.sent = new Map(records.map((r) => [r.id, r] as const));
    this.emit('topology', true, records, []);
  }

  /** Sends what changed since the last delta; returns how many records it sent (new, changed or removed). */
  flushNow(kind: ChangeKind): number {
    const next = new Map<string, R>();
    const upsert: R[] = [];
    const patch: RecordPatch[] = [];
    for (const r of this.source.records()) {
      next.set(r.id, r);
      const before = this.sent.get(r.id);
      if (before === undefined) upsert.push(r);
      else if (before !== r) {
        const p = diffRecord(before, r);
        if (p) patch.push(p);
      }
    }
    const added = upsert.length;
    const remove: string[] = [];
    // Some sent ids are gone only when fewer of them are still here than were sent.
    if (next.size - added < this.sent.size) for (const id of this.sent.keys()) if (!next.has(id)) remove.push(id);
    this.sent = next;
    if (upsert.length > 0 || patch.length > 0 || remove.length > 0) this.emit(kind, false, upsert, remove, patch);
    return upsert.length + patch.length + remove.length;
  }

  close(): void {
    this.unlisten();
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.immediate) return;
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

  private emit(kind: ChangeKind, reset: boolean, upsert: R[], remove: string[], patch: RecordPatch[] = []): void {
    // New records first, then patches, CHUNK items a message; removals ride with the first.
    const items = upsert.length + patch.length;
    for (let i = 0; i === 0 || i < items; i += CHUNK) {
      this.send({
        type: 'table',
        table: this.name,
        kind,
        reset: reset && i === 0,
        last: i + CHUNK >= items,
        upsert: upsert.slice(i, i + CHUNK),
        patch: patch.slice(Math.max(0, i - upsert.length), Math.max(0, i + CHUNK - upsert.length)),
        remove: i === 0 ? remove : [],
      });
    }
  }

  private flush(): void {
    this.lastFlush = Date.now();
    const kind = this.pending ?? 'figures';
    this.pending = undefined;
    this.flushNow(kind);
  }
}
