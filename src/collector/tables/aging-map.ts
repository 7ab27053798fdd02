// A map whose entries are forgotten between keepMs and twice that after they were last set, kept
// as two generations rather than a time per entry: at 100,000 entries an object and a boxed time
// each cost about 54 bytes an entry.

export class AgingMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private youngSince = -Infinity;
  /** The latest time an entry of each generation was set. */
  private youngNewest = -Infinity;
  private oldNewest = -Infinity;

  constructor(private readonly keepMs: number) {}

  get(key: K): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  has(key: K): boolean {
    return this.young.has(key) || this.old.has(key);
  }

  /** Sets the entry in the young generation; an old entry for the key goes, with its key. */
  set(key: K, value: V, nowMs: number): void {
    this.young.set(key, value);
    // Each read brings a new key string: the old generation would otherwise keep a second one.
    if (this.old.size > 0) this.old.delete(key);
    if (nowMs > this.youngNewest) this.youngNewest = nowMs;
  }

  /** Entries of both generations. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Forgets a generation once its newest entry is keepMs old; the young one turns old every keepMs. */
  expire(nowMs: number): void {
    if (nowMs - this.oldNewest > this.keepMs && this.old.size > 0) this.old = new Map();
    if (nowMs - this.youngNewest > this.keepMs) {
      if (this.young.size > 0) this.young = new Map();
    } else if (nowMs - this.youngSince >= this.keepMs) {
      this.old = this.young;
      this.oldNewest = this.youngNewest;
      this.young = new Map();
      this.youngSince = nowMs;
      this.youngNewest = -Infinity;
    }
  }
}
