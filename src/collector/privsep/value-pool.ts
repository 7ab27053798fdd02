// Records the server process rebuilds from the parent's JSON would each hold their own copy of
// every nested object: the server endpoint thousands of links share, the connection counts most
// links have in common. The pool keeps one object for each distinct value, so records share them.
import { sameJson } from '../../protocol/same-json.js';

/** 53 bits from two 32-bit FNV-1a hashes (different primes) of a JSON text. */
function hash(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

export class ValuePool {
  private byHash = new Map<number, object>();
  /** Values pooled since the pool was last rebuilt from the values in use. */
  private added = 0;

  /** The pooled value equal to `v`, or `v` itself, now pooled. Two values with one hash: the second stays its own. */
  share<T>(v: T): T {
    if (typeof v !== 'object' || v === null) return v;
    const h = hash(JSON.stringify(v));
    const have = this.byHash.get(h);
    if (have === undefined) {
      this.byHash.set(h, v);
      this.added += 1;
      return v;
    }
    return sameJson(have, v) ? (have as T) : v;
  }

  /** The object-valued fields of a record, pooled in place. */
  shareFields<R extends object>(r: R): R {
    const fields = r as Record<string, unknown>;
    for (const k in fields) if (typeof fields[k] === 'object') fields[k] = this.share(fields[k]);
    return r;
  }

  /**
   * The pool forgets nothing by itself; once it has taken in more values than there are records,
   * it is rebuilt from the values the records hold, so what records dropped is freed.
   */
  trim(records: Iterable<object>, count: number): void {
    if (this.added <= count + 1024) return;
    this.byHash = new Map();
    this.added = 0;
    const seen = new Set<object>();
    for (const r of records) {
      for (const v of Object.values(r)) {
        if (typeof v !== 'object' || v === null || seen.has(v)) continue;
        seen.add(v);
        const h = hash(JSON.stringify(v));
        if (!this.byHash.has(h)) this.byHash.set(h, v);
      }
    }
  }
}
