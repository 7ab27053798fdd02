// What one subscription spec shows, computed and serialised once for every client that asked for
// it: the message body after the per-client head is a list of Buffers that every socket sends as
// they are, each a fragment of the one message, held until every socket has written them.
// The view remembers each record's JSON from the last refresh, so a refresh yields exactly the
// records whose JSON changed and the ids that went away; a client that applies those to the last
// snapshot holds the next one.
import type { SubscriptionSpec, TableName } from '../../protocol/index.js';
import { shape } from '../tables/aggregate.js';
import type { LiveTable } from '../tables/types.js';
import { jsonElements } from './json-elements.js';
import { jsonParts, jsonRuns, runTexts } from './json-parts.js';
import type { HeldParts, PartPool } from './part-pool.js';

export class SharedView {
  private current = new Map<string, string>();
  /** A new view's records as they went out, in runs, and their ids, until the first refresh splits them. */
  private unsplit: { runs: Buffer[]; ids: string[] } | undefined;
  private time: number;
  private snapshotTail: HeldParts | undefined;

  /**
   * The view as the table is now, its snapshot ready. The records are serialised a run at a time,
   * which is faster than one call a record; the runs are split per record only when the first
   * refresh needs to compare, so a new view's first client is not kept waiting for that.
   */
  constructor(
    readonly key: string,
    readonly spec: SubscriptionSpec,
    private readonly table: LiveTable<{ id: string }>,
    now: number,
    private readonly pool: PartPool,
  ) {
    const records = this.shaped();
    const { parts, runs } = jsonRuns(`"table":"${spec.table}","records":`, records, `,"time":${now}}`, pool);
    this.unsplit = { runs, ids: records.map((r) => r.id) };
    this.time = now;
    this.snapshotTail = pool.held(parts);
  }

  get tableName(): TableName {
    return this.spec.table;
  }

  size(): number {
    return this.unsplit?.ids.length ?? this.current.size;
  }

  /**
   * Recomputes the view. Returns the shared tail of a delta message (everything after "seq"), for
   * the caller to release once it has handed it to every socket, or undefined when no record
   * changed.
   */
  refresh(now: number): HeldParts | undefined {
    this.split();
    const next = new Map<string, string>();
    const upsert: string[] = [];
    for (const r of this.shaped()) {
      const json = JSON.stringify(r);
      next.set(r.id, json);
      if (this.current.get(r.id) !== json) upsert.push(json);
    }
    const remove: string[] = [];
    for (const id of this.current.keys()) if (!next.has(id)) remove.push(id);
    this.current = next;
    if (upsert.length === 0 && remove.length === 0) return undefined;
    this.time = now;
    this.snapshotTail?.release();
    this.snapshotTail = undefined;
    return this.pool.held(jsonParts(`"table":"${this.spec.table}","upsert":[`, upsert, `],"remove":${JSON.stringify(remove)},"time":${now}}`, this.pool));
  }

  /**
   * The tail of a snapshot message of the view as of the last refresh, built once per change and
   * held by the view; a socket that writes it holds it too.
   */
  snapshot(): HeldParts {
    this.snapshotTail ??= this.pool.held(jsonParts(`"table":"${this.spec.table}","records":[`, this.current, `],"time":${this.time}}`, this.pool));
    return this.snapshotTail;
  }

  /** No client shows the view any more. */
  close(): void {
    this.snapshotTail?.release();
    this.snapshotTail = undefined;
  }

  private split(): void {
    if (!this.unsplit) return;
    const { runs, ids } = this.unsplit;
    const texts = runTexts(runs).flatMap(jsonElements);
    for (let i = 0; i < ids.length; i++) this.current.set(ids[i]!, texts[i]!);
    this.unsplit = undefined;
  }

  private shaped(): { id: string }[] {
    return shape(this.spec.table, this.table.records() as never[], this.spec) as { id: string }[];
  }
}

/** The per-client head of a snapshot or delta; the tail is shared. */
export function messageHead(type: 'snapshot' | 'delta', sub: string, seq: number): string {
  return `{"type":"${type}","sub":${JSON.stringify(sub)},"seq":${seq},`;
}
