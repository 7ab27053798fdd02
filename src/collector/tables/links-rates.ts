// Bytes per second over a sliding window, from cumulative totals sampled at each update.

/** Numbers per sample: time, bytes sent, bytes received. */
const STRIDE = 3;
/** Samples are kept a quarter of the window apart. */
const STEPS = 4;

export class RateWindow {
  /**
   * The samples, flat: [atMs, sent, received, atMs, …], at most six. One array of doubles (stored
   * unboxed) per link, not an object and three boxed numbers per sample: there are 100,000 links.
   */
  private readonly s: number[] = [];

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new Error(`rate window must be > 0 ms, got ${windowMs}`);
  }

  /**
   * Records the cumulative totals at `atMs`. The newest sample moves forward until it is a quarter
   * of the window past the one before it, then stays (at 100 ms polls a link held a hundred
   * samples); one sample at or before the window's start is kept, to find the totals there.
   */
  add(atMs: number, sent: number, received: number): void {
    const s = this.s;
    let drop = 0;
    while (s.length - drop >= 2 * STRIDE && s[drop + STRIDE]! <= atMs - this.windowMs) drop += STRIDE;
    if (drop > 0) {
      s.copyWithin(0, drop);
      s.length -= drop;
    }
    const last = s.length - STRIDE;
    if (last >= 0 && (s[last] === atMs || (last >= STRIDE && s[last]! - s[last - STRIDE]! < this.windowMs / STEPS))) {
      s[last] = atMs;
      s[last + 1] = sent;
      s[last + 2] = received;
    } else s.push(atMs, sent, received);
  }

  /**
   * Bytes/s each way over the window before the newest sample, its start's totals interpolated
   * between the samples around it; over what there is while the samples span less; 0 with one.
   */
  rates(): { send: number; receive: number } {
    const s = this.s;
    const last = s.length - STRIDE;
    if (last <= 0 || s[last]! <= s[0]!) return { send: 0, receive: 0 };
    const start = Math.max(s[0]!, s[last]! - this.windowMs);
    // The sample at or before the start and the one after it (samples are in time order).
    let i = 0;
    while (i + STRIDE < last && s[i + STRIDE]! <= start) i += STRIDE;
    const j = i + STRIDE;
    const f = (start - s[i]!) / (s[j]! - s[i]!);
    const at = (k: number): number => s[i + k]! + f * (s[j + k]! - s[i + k]!);
    const seconds = (s[last]! - start) / 1000;
    return {
      send: Math.max(0, (s[last + 1]! - at(1)) / seconds),
      receive: Math.max(0, (s[last + 2]! - at(2)) / seconds),
    };
  }
}
