// A LiveTable kept in memory and fed by its owner: tests, benches, and anything that already has
// records in hand. It tells listeners whether a change moved the topology or only the figures.
import { sortedById } from '../../protocol/record-order.js';
import type { ChangeKind, LiveTable } from './types.js';

export class MemoryTable<R extends { id: string }> implements LiveTable<R> {
  private rows = new Map<string, R>();
  private readonly listeners = new Set<(kind: ChangeKind) => void>();
  private sorted: R[] | undefined;

  constructor(initial: R[] = []) {
    for (const r of initial) this.rows.set(r.id, r);
  }

  records(): R[] {
    // Fed in id order (the usual case) the check is all the sorting needed.
    this.sorted ??= sortedById([...this.rows.values()]);
    return this.sorted;
  }

  size(): number {
    return this.rows.size;
  }

  get(id: string): R | undefined {
    return this.rows.get(id);
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Adds or replaces records; a new id is a topology change, a replaced one only figures. */
  upsert(records: R[]): void {
    if (records.length === 0) return;
    let topology = false;
    for (const r of records) {
      if (!this.rows.has(r.id)) topology = true;
      this.rows.set(r.id, r);
    }
    this.changed(topology ? 'topology' : 'figures');
  }

  remove(ids: string[]): void {
    let removed = false;
    for (const id of ids) removed = this.rows.delete(id) || removed;
    if (removed) this.changed('topology');
  }

  /** Replaces the whole content. */
  replace(records: R[]): void {
    // One new map, nothing else per record: a table of 100,000 replaced every second.
    const next = new Map<string, R>();
    let topology = false;
    for (const r of records) {
      if (!topology && !this.rows.has(r.id)) topology = true;
      next.set(r.id, r);
    }
    if (next.size !== this.rows.size) topology = true;
    this.rows = next;
    this.changed(topology ? 'topology' : 'figures');
  }

  private changed(kind: ChangeKind): void {
    this.sorted = undefined;
    for (const l of this.listeners) l(kind);
  }
}
