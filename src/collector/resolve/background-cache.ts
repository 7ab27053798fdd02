// A cache that answers at once and fills itself in the background. get() never waits: a miss
// returns undefined and starts one load for that key; a stale hit returns the old value and
// refreshes it. Failed or empty loads are remembered for a while too, so a bad key is not
// looked up again on every packet.

export interface BackgroundCacheOptions<K, V> {
  load: (key: K) => Promise<V | undefined>;
  /** How long a loaded value is fresh. */
  ttlMs: number;
  /** How long a miss (undefined or a failed load) is remembered. */
  missTtlMs?: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  /** Loads running at once at most; the rest wait their turn. */
  concurrency?: number;
  now?: () => number;
}

interface Entry<V> {
  value: V | undefined;
  expires: number;
}

export class BackgroundCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private readonly loading = new Set<K>();
  private readonly queue: K[] = [];
  private running = 0;
  private closed = false;
  private readonly o: Required<BackgroundCacheOptions<K, V>>;

  constructor(opts: BackgroundCacheOptions<K, V>) {
    this.o = { missTtlMs: opts.ttlMs, maxEntries: 10_000, concurrency: 4, now: Date.now, ...opts };
  }

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e || e.expires <= this.o.now()) this.request(key);
    return e?.value;
  }

  /** Cached value without starting a load. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  set(key: K, value: V | undefined, ttlMs = this.o.ttlMs): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.o.now() + ttlMs });
    while (this.entries.size > this.o.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Resolves when no load is running or queued (for tests and startup). */
  async idle(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.entries.clear();
  }

  private request(key: K): void {
    if (this.closed || this.loading.has(key)) return;
    this.loading.add(key);
    this.queue.push(key);
    // Bounded: a flood of new keys drops the oldest requests, not memory.
    while (this.queue.length > this.o.maxEntries) this.loading.delete(this.queue.shift() as K);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running < this.o.concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as K;
      this.running += 1;
      this.o
        .load(key)
        .then(
          (v) => v,
          () => undefined,
        )
        .then((v) => {
          this.running -= 1;
          this.loading.delete(key);
          if (!this.closed) this.set(key, v, v === undefined ? this.o.missTtlMs : this.o.ttlMs);
          this.pump();
        });
    }
  }
}
