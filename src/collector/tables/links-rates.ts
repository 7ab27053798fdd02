// Bytes per second over a sliding window, from cumulative totals sampled at each update.

/** Numbers per sample: time, bytes sent, bytes received. */
const STRIDE = 3;
/** Samples a window holds at most, about. */
const SAMPLES = 10;

export class RateWindow {
  /**
   * The samples, flat: [atMs, sent, received, atMs, …]. One array of doubles (stored unboxed) per
   * link, not an object and three boxed numbers per sample: there are 100,000 links.
   */
  private readonly s: number[] = [];

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new Error(`rate window must be > 0 ms, got ${windowMs}`);
  }

  /**
   * Records the cumulative totals at `atMs`; keeps one sample older than the window as its start.
   * Samples are kept a tenth of the window apart (the newest moves forward until it is that far
   * from the one before it), so a link holds at most a dozen whatever the poll interval: at 100 ms
   * polls it held a hundred. The window then spans up to a tenth more than windowMs.
   */
  add(atMs: number, sent: number, received: number): void {
    const s = this.s;
    const last = s.length - STRIDE;
    if (last >= 0 && (s[last] === atMs || (last >= STRIDE && atMs - s[last - STRIDE]! < this.windowMs / SAMPLES))) {
      s[last] = atMs;
      s[last + 1] = sent;
      s[last + 2] = received;
    } else s.push(atMs, sent, received);
    let drop = 0;
    while (s.length - drop > 2 * STRIDE && s[drop + STRIDE]! <= atMs - this.windowMs) drop += STRIDE;
    if (drop > 0) {
      s.copyWithin(0, drop);
      s.length -= drop;
    }
  }

  /** Bytes/s each way between the oldest sample in the window and the newest; 0 with one sample. */
  rates(): { send: number; receive: number } {
    const s = this.s;
    const last = s.length - STRIDE;
    if (last <= 0 || s[last]! <= s[0]!) return { send: 0, receive: 0 };
    const seconds = (s[last]! - s[0]!) / 1000;
    return {
      send: Math.max(0, (s[last + 1]! - s[1]!) / seconds),
      receive: Math.max(0, (s[last + 2]! - s[2]!) / seconds),
    };
  }
}
