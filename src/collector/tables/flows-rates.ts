// Bytes per second of one flow over a sliding window, from the cumulative totals seen at each drain.

export class RateWindow {
  /** (time ms, cumulative bytes), oldest first; the first is at or before the window's start. */
  private readonly samples: [number, number][] = [];

  constructor(
    private readonly windowMs: number,
    startMs: number,
  ) {
    this.samples.push([startMs, 0]);
  }

  add(atMs: number, totalBytes: number): void {
    this.samples.push([atMs, totalBytes]);
    // Keep one sample at or before the window's start as the baseline.
    while (this.samples.length > 2 && this.samples[1]![0] <= atMs - this.windowMs) this.samples.shift();
  }

  /** Bytes/s over the last window (over the flow's life when it is younger, and at least 1 s). */
  rate(nowMs: number): number {
    const last = this.samples[this.samples.length - 1]!;
    let base = this.samples[0]!;
    for (const s of this.samples) if (s[0] <= nowMs - this.windowMs) base = s;
    const seconds = Math.max(1, (nowMs - base[0]) / 1000);
    return (last[1] - base[1]) / seconds;
  }
}
