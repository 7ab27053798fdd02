// What one subscription spec shows, computed and serialised once for every client that asked for
// it: the message body after the per-client head is one Buffer that every socket sends as is. The view remembers each record's JSON from the last refresh, so a refresh yields exactly the
// records whose JSON changed and the ids that went away; a client that applies those to the last
// snapshot holds the next one.
import type { SubscriptionSpec, TableName } from '../../protocol/index.js';
import { shape } from '../tables/aggregate.js';
import type { LiveTable } from '../tables/types.js';

export class SharedView {
  private current = new Map<string, string>();
  private time = 0;
  private snapshotTail: Buffer | undefined;

  constructor(
    readonly key: string,
    readonly spec: SubscriptionSpec,
    private readonly table: LiveTable<{ id: string }>,
  ) {}

  get tableName(): TableName {
    return this.spec.table;
  }

  size(): number {
    return this.current.size;
  }

  /**
   * Recomputes the view. Returns the shared tail of a delta message (everything after "seq"), or
   * undefined when no record changed.
   */
  refresh(now: number): Buffer | undefined {
    const records = shape(this.spec.table, this.table.records() as never[], this.spec) as { id: string }[];
    const next = new Map<string, string>();
    const upsert: string[] = [];
    for (const r of records) {
      const json = JSON.stringify(r);
      next.set(r.id, json);
      if (this.current.get(r.id) !== json) upsert.push(json);
    }
    const remove: string[] = [];
    for (const id of this.current.keys()) if (!next.has(id)) remove.push(id);
    this.current = next;
    if (upsert.length === 0 && remove.length === 0) return undefined;
    this.time = now;
    this.snapshotTail = undefined;
    return Buffer.from(`"table":"${this.spec.table}","upsert":[${upsert.join(',')}],"remove":${JSON.stringify(remove)},"time":${now}}`);
  }

  /** The tail of a snapshot message of the view as of the last refresh, built once per change. */
  snapshot(): Buffer {
    this.snapshotTail ??= Buffer.from(`"table":"${this.spec.table}","records":[${[...this.current.values()].join(',')}],"time":${this.time || Date.now()}}`);
    return this.snapshotTail;
  }
}

/** The per-client head of a snapshot or delta; the tail is shared. */
export function messageHead(type: 'snapshot' | 'delta', sub: string, seq: number): string {
  return `{"type":"${type}","sub":${JSON.stringify(sub)},"seq":${seq},`;
}
