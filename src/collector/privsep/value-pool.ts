// Records the server process rebuilds from the parent's JSON would each hold their own copy of
// every nested object and of every string: the server endpoint thousands of links share, the
// connection counts most links have in common, and the names, kinds, netns and command lines
// JSON.parse makes anew for every endpoint. The pool shares them through two direct-mapped caches,
// one for objects (slot chosen by a hash of their JSON) and one for strings: a value equal to the
// one in its slot is given that one; any other takes the slot. What many records hold stays in its
// slot and is shared; what is unique (a client's own endpoint and address) passes through and
// costs nothing, where a Map of every distinct value held an entry for each (at 100,000 links,
// 137,000 objects and as many strings: 10 MB of tables). A common value pushed out by a rare one
// is shared again from its next sighting: one more copy.
import { sameJson } from '../../protocol/same-json.js';

/** Slots of each cache: 16,384 objects and strings at most are held for sharing. */
const SLOTS = 1 << 14;

/** FNV-1a of a text, 32 bits. */
function hash(text: string): number {
  let a = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) a = Math.imul(a ^ text.charCodeAt(i), 0x01000193);
  return a | 0;
}

/** Fields whose strings are unique to their record: they would only push others out. */
const OWN = 'id';

export class ValuePool {
  private readonly objects: (object | undefined)[] = new Array<object | undefined>(SLOTS).fill(undefined);
  private readonly objectHashes = new Int32Array(SLOTS);
  private readonly strings: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

  /** The held value equal to `v` (an object or a string), else `v` itself, its own strings and objects shared, now held. */
  share<T>(v: T): T {
    if (typeof v === 'string') return this.intern(v) as T;
    if (typeof v !== 'object' || v === null) return v;
    const h = hash(JSON.stringify(v));
    const slot = h & (SLOTS - 1);
    const have = this.objects[slot];
    if (have !== undefined && this.objectHashes[slot] === h && sameJson(have, v)) return have as T;
    const fields = v as Record<string, unknown>;
    for (const k in fields) {
      const x = fields[k];
      if (typeof x === 'string' || (typeof x === 'object' && x !== null)) fields[k] = this.share(x);
    }
    this.objects[slot] = v;
    this.objectHashes[slot] = h;
    return v;
  }

  /** The object-valued and string fields of a record (but its id), shared in place. */
  shareFields<R extends object>(r: R): R {
    const fields = r as Record<string, unknown>;
    for (const k in fields) {
      const v = fields[k];
      if (typeof v === 'object' ? v !== null : typeof v === 'string' && k !== OWN) fields[k] = this.share(v);
    }
    return r;
  }

  /** How many objects and strings the caches hold. */
  held(): { objects: number; strings: number } {
    return { objects: this.objects.filter((o) => o !== undefined).length, strings: this.strings.filter((s) => s !== undefined).length };
  }

  private intern(s: string): string {
    const slot = hash(s) & (SLOTS - 1);
    const have = this.strings[slot];
    if (have === s) return have;
    this.strings[slot] = s;
    return s;
  }
}
