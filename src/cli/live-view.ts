// A client's copy of one subscription: a snapshot replaces it, a delta with the next seq patches
// it. A delta out of order means something was missed; the caller then asks for a resync.
import type { DeltaMessage, SnapshotMessage } from '../protocol/index.js';
import { byId } from '../protocol/record-order.js';

export interface Applied<R> {
  /** False when the message did not follow on (a seq gap): ask for a resync. */
  ok: boolean;
  added: R[];
  changed: R[];
  removed: R[];
}

export class LiveView<R extends { id: string }> {
  private readonly rows = new Map<string, R>();
  private seq = 0;

  apply(msg: SnapshotMessage<R> | DeltaMessage<R>): Applied<R> {
    if (msg.type === 'snapshot') {
      const before = new Map(this.rows);
      this.rows.clear();
      const added: R[] = [];
      const changed: R[] = [];
      for (const r of msg.records) {
        this.rows.set(r.id, r);
        const old = before.get(r.id);
        before.delete(r.id);
        if (!old) added.push(r);
        else if (JSON.stringify(old) !== JSON.stringify(r)) changed.push(r);
      }
      this.seq = msg.seq;
      return { ok: true, added, changed, removed: [...before.values()] };
    }
    if (msg.seq !== this.seq + 1) return { ok: false, added: [], changed: [], removed: [] };
    this.seq = msg.seq;
    const added: R[] = [];
    const changed: R[] = [];
    const removed: R[] = [];
    for (const r of msg.upsert) {
      (this.rows.has(r.id) ? changed : added).push(r);
      this.rows.set(r.id, r);
    }
    for (const id of msg.remove) {
      const old = this.rows.get(id);
      if (old) removed.push(old);
      this.rows.delete(id);
    }
    return { ok: true, added, changed, removed };
  }

  /** The records held, by id, as a snapshot lists them. */
  records(): R[] {
    return [...this.rows.values()].sort(byId);
  }

  get lastSeq(): number {
    return this.seq;
  }
}
