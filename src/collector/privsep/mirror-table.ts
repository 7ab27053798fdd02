// Server side of a mirrored table: a LiveTable holding what the parent sent, so the server code
// reads it exactly as it would read the kernel's tables in one process.
import type { ChangeKind, LiveTable } from '../tables/types.js';
import type { TableDelta } from './messages.js';

export class MirrorTable<R extends { id: string }> implements LiveTable<R> {
  private rows = new Map<string, R>();
  private sorted: R[] | undefined;
  private readonly listeners = new Set<(kind: ChangeKind) => void>();

  records(): R[] {
    this.sorted ??= [...this.rows.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  size(): number {
    return this.rows.size;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(delta: Pick<TableDelta, 'kind' | 'reset' | 'upsert' | 'remove'>): void {
    if (delta.reset) this.rows = new Map();
    for (const r of delta.upsert as unknown as R[]) this.rows.set(r.id, r);
    for (const id of delta.remove) this.rows.delete(id);
    this.sorted = undefined;
    for (const l of this.listeners) l(delta.kind);
  }
}
