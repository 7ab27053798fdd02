// Bytes per second over a sliding window, from cumulative totals sampled at each update.

interface Sample {
  atMs: number;
  sent: number;
  received: number;
}

export class RateWindow {
  private readonly samples: Sample[] = [];

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new Error(`rate window must be > 0 ms, got ${windowMs}`);
  }

  /** Records the cumulative totals at `atMs`; keeps one sample older than the window as its start. */
  add(atMs: number, sent: number, received: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && last.atMs === atMs) {
      last.sent = sent;
      last.received = received;
    } else {
      this.samples.push({ atMs, sent, received });
    }
    while (this.samples.length > 2 && this.samples[1]!.atMs <= atMs - this.windowMs) this.samples.shift();
  }

  /** Bytes/s each way between the oldest sample in the window and the newest; 0 with one sample. */
  rates(): { send: number; receive: number } {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.atMs <= first.atMs) return { send: 0, receive: 0 };
    const seconds = (last.atMs - first.atMs) / 1000;
    return {
      send: Math.max(0, (last.sent - first.sent) / seconds),
      receive: Math.max(0, (last.received - first.received) / seconds),
    };
  }
}
