// Bytes per second of one flow over a sliding window, from the cumulative totals seen at each drain.

/** Samples are kept a quarter of the window apart. */
const STEPS = 4;

export class RateWindow {
  /**
   * The samples, flat: [atMs, totalBytes, atMs, …], oldest first, the first at or before the
   * window's start; at most six. One array of doubles (stored unboxed) per flow, not a pair array
   * and boxed numbers per drain: a table holds up to 200,000 flows.
   */
  private readonly s: number[];

  constructor(
    private readonly windowMs: number,
    startMs: number,
  ) {
    this.s = [startMs, 0];
  }

  /**
   * The flow's total at `atMs`. The newest sample moves forward until it is a quarter of the window
   * past the one before it, then stays; one sample at or before the window's start is kept.
   */
  add(atMs: number, totalBytes: number): void {
    const s = this.s;
    let drop = 0;
    while (s.length - drop >= 4 && s[drop + 2]! <= atMs - this.windowMs) drop += 2;
    if (drop > 0) {
      s.copyWithin(0, drop);
      s.length -= drop;
    }
    const last = s.length - 2;
    if (s[last] === atMs || (last >= 2 && s[last]! - s[last - 2]! < this.windowMs / STEPS)) {
      s[last] = atMs;
      s[last + 1] = totalBytes;
    } else s.push(atMs, totalBytes);
  }

  /**
   * Bytes/s over the last window, the total at its start interpolated between the samples around
   * it (over the flow's life when it is younger, and at least 1 s).
   */
  rate(nowMs: number): number {
    const s = this.s;
    const last = s.length - 2;
    const start = nowMs - this.windowMs;
    if (start <= s[0]!) return (s[last + 1]! - s[1]!) / Math.max(1, (nowMs - s[0]!) / 1000);
    if (start >= s[last]!) return 0;
    let i = 0;
    while (s[i + 2]! <= start) i += 2;
    const base = s[i + 1]! + ((start - s[i]!) / (s[i + 2]! - s[i]!)) * (s[i + 3]! - s[i + 1]!);
    return (s[last + 1]! - base) / Math.max(1, this.windowMs / 1000);
  }
}
