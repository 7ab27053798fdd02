// Leaves the collector's own connections out of a table, so watching the graph does not change it.
// Links: the server end on our port held by us (or by nobody known), or a client end that is us.
// Flows: either port equal to ours (TC does not know processes).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import type { ChangeKind, LiveTable } from './types.js';
import { kept } from './kept.js';

export function isOwnLink(r: LinkRecord, port: number, pid: number): boolean {
  if (r.client.pid === pid) return true;
  return r.server.port === port && (r.server.pid === undefined || r.server.pid === pid);
}

export function isOwnFlow(r: FlowRecord, port: number): boolean {
  return r.protocol === 'tcp' && (r.srcPort === port || r.dstPort === port);
}

export class ExcludingTable<R extends { id: string }> implements LiveTable<R> {
  private cache: R[] | undefined;
  private readonly unlisten: () => void;
  private readonly listeners = new Set<(kind: ChangeKind) => void>();

  constructor(
    private readonly source: LiveTable<R>,
    private readonly own: (r: R) => boolean,
  ) {
    this.unlisten = source.onChange((kind) => {
      this.cache = undefined;
      for (const l of this.listeners) l(kind);
    });
  }

  records(): R[] {
    this.cache ??= kept(this.source.records(), (r) => !this.own(r));
    return this.cache;
  }

  size(): number {
    return this.records().length;
  }

  onChange(listener: (kind: ChangeKind) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unlisten();
  }
}
