// Parent side of a mirrored table: on every change of the real table, sends the server process
// only the records that differ from what it last sent (compared as JSON, since the tables build
// fresh record objects on each read). Changes that come together go out as one message.
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import type { ChangeKind, LiveTable } from '../tables/types.js';
import type { MirroredTable, TableDelta } from './messages.js';

export class TableFeed<R extends LinkRecord | FlowRecord> {
  private sent = new Map<string, string>();
  private pending: ChangeKind | undefined;
  private scheduled = false;
  private readonly unlisten: () => void;

  constructor(
    private readonly name: MirroredTable,
    private readonly source: LiveTable<R>,
    private readonly send: (delta: TableDelta) => void,
  ) {
    this.unlisten = source.onChange((kind) => {
      this.pending = this.pending === 'topology' ? 'topology' : kind;
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  /** The whole table, for a server process that has nothing yet. */
  reset(): void {
    this.sent = new Map();
    const upsert: R[] = [];
    for (const r of this.source.records()) {
      this.sent.set(r.id, JSON.stringify(r));
      upsert.push(r);
    }
    this.send({ type: 'table', table: this.name, kind: 'topology', reset: true, upsert, remove: [] });
  }

  /** What changed since the last message; nothing is sent when nothing did. */
  delta(kind: ChangeKind): TableDelta | undefined {
    const next = new Map<string, string>();
    const upsert: R[] = [];
    for (const r of this.source.records()) {
      const json = JSON.stringify(r);
      next.set(r.id, json);
      if (this.sent.get(r.id) !== json) upsert.push(r);
    }
    const remove: string[] = [];
    for (const id of this.sent.keys()) if (!next.has(id)) remove.push(id);
    this.sent = next;
    if (upsert.length === 0 && remove.length === 0) return undefined;
    return { type: 'table', table: this.name, kind, reset: false, upsert, remove };
  }

  close(): void {
    this.unlisten();
  }

  private flush(): void {
    this.scheduled = false;
    const kind = this.pending ?? 'figures';
    this.pending = undefined;
    const d = this.delta(kind);
    if (d) this.send(d);
  }
}
