// Records the server process rebuilds from the parent's JSON would each hold their own copy of
// every nested object and of every string: the server endpoint thousands of links share, the
// connection counts most links have in common, and the names, kinds, netns and command lines
// that JSON.parse makes anew for every endpoint (at 100,000 links, 27 MB of copies). The pool
// keeps one object for each distinct value and one string for each distinct text, so records
// share them.
import { sameJson } from '../../protocol/same-json.js';

/**
 * 30 bits of an FNV-1a hash of a JSON text: a small integer, so the Map holds its key unboxed (a
 * 53-bit key was a 16-byte heap number an entry). Two values with one hash are rare at 100,000
 * and cost only sharing (the second stays its own).
 */
function hash(text: string): number {
  let a = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
  return a >>> 2;
}

/** Fields whose strings are unique to their record: pooling them would only add entries. */
const OWN = 'id';

export class ValuePool {
  private byHash = new Map<number, object>();
  private strings = new Map<string, string>();
  /** Values pooled since the pool was last rebuilt from the values in use. */
  private added = 0;
  private addedStrings = 0;

  /** The pooled value equal to `v`, or `v` itself (its strings pooled), now pooled. Two values with one hash: the second stays its own. */
  share<T>(v: T): T {
    if (typeof v === 'string') return this.intern(v) as T;
    if (typeof v !== 'object' || v === null) return v;
    const h = hash(JSON.stringify(v));
    const have = this.byHash.get(h);
    if (have !== undefined) return sameJson(have, v) ? (have as T) : this.shareInside(v);
    this.byHash.set(h, this.shareInside(v));
    this.added += 1;
    return v;
  }

  /** The object-valued and string fields of a record (but its id), pooled in place. */
  shareFields<R extends object>(r: R): R {
    const fields = r as Record<string, unknown>;
    for (const k in fields) {
      const v = fields[k];
      if (typeof v === 'object' ? v !== null : typeof v === 'string' && k !== OWN) fields[k] = this.share(v);
    }
    return r;
  }

  /** How many distinct objects and strings the pool holds. */
  size(): { objects: number; strings: number } {
    return { objects: this.byHash.size, strings: this.strings.size };
  }

  /**
   * The pool forgets nothing by itself; once it has taken in more values (or strings) than there
   * are records, it is rebuilt from the values the records hold, so what records dropped is freed.
   */
  trim(records: Iterable<object>, count: number): void {
    if (this.added <= count + 1024 && this.addedStrings <= count + 1024) return;
    this.byHash = new Map();
    this.strings = new Map();
    this.added = 0;
    this.addedStrings = 0;
    const seen = new Set<object>();
    for (const r of records) {
      const fields = r as Record<string, unknown>;
      for (const k in fields) {
        const v = fields[k];
        if (typeof v === 'string') {
          if (k !== OWN) this.keep(v);
        } else if (typeof v === 'object' && v !== null) this.keepObject(v, seen);
      }
    }
  }

  private intern(s: string): string {
    const have = this.strings.get(s);
    if (have !== undefined) return have;
    this.strings.set(s, s);
    this.addedStrings += 1;
    return s;
  }

  /** `v` with the strings and objects inside it pooled in place (it is new to the pool). */
  private shareInside<T>(v: T): T {
    const fields = v as Record<string, unknown>;
    for (const k in fields) {
      const x = fields[k];
      if (typeof x === 'string' || (typeof x === 'object' && x !== null)) fields[k] = this.share(x);
    }
    return v;
  }

  private keep(s: string): void {
    if (!this.strings.has(s)) this.strings.set(s, s);
  }

  /** Pools `v` and what it holds again; `seen` skips objects records share. */
  private keepObject(v: object, seen: Set<object>): void {
    if (seen.has(v)) return;
    seen.add(v);
    const h = hash(JSON.stringify(v));
    if (!this.byHash.has(h)) this.byHash.set(h, v);
    const fields = v as Record<string, unknown>;
    for (const k in fields) {
      const x = fields[k];
      if (typeof x === 'string') this.keep(x);
      else if (typeof x === 'object' && x !== null) this.keepObject(x, seen);
    }
  }
}
