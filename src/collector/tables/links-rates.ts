// Bytes per second over a sliding window, from cumulative totals sampled at each update. A link's
// samples are a run of doubles in the table's columns (LinkColumns): their count, then at most
// six samples of [atMs, sent, received].

/** Numbers per sample: time, bytes sent, bytes received. */
const STRIDE = 3;
/** Samples are kept a quarter of the window apart. */
const STEPS = 4;
/** A quarter window apart, one at or before the window's start: six are enough while time goes forward. */
const MAX_SAMPLES = 6;
/** Doubles a link's samples take: their count, then the samples. */
export const RATE_WIDTH = 1 + MAX_SAMPLES * STRIDE;

/**
 * Records the cumulative totals at `atMs` in the samples at a[at]. The newest sample moves forward
 * until it is a quarter of the window past the one before it, then stays (at 100 ms polls a link
 * held a hundred samples); one sample at or before the window's start is kept, to find the totals
 * there.
 */
export function addRateSample(a: Float64Array, at: number, windowMs: number, atMs: number, sent: number, received: number): void {
  const s = at + 1;
  let n = a[at]!;
  let drop = 0;
  while (n - drop >= 2 && a[s + (drop + 1) * STRIDE]! <= atMs - windowMs) drop += 1;
  if (drop > 0) {
    a.copyWithin(s, s + drop * STRIDE, s + n * STRIDE);
    n -= drop;
  }
  let i = (n - 1) * STRIDE;
  if (!(n >= 1 && (a[s + i] === atMs || (n >= 2 && a[s + i]! - a[s + i - STRIDE]! < windowMs / STEPS)))) {
    // Only a clock that went back fills them all: the oldest gives way.
    if (n === MAX_SAMPLES) {
      a.copyWithin(s, s + STRIDE, s + n * STRIDE);
      n -= 1;
    }
    i = n * STRIDE;
    n += 1;
  }
  a[s + i] = atMs;
  a[s + i + 1] = sent;
  a[s + i + 2] = received;
  a[at] = n;
}

/**
 * Bytes/s each way over the window before the newest sample at a[at], its start's totals
 * interpolated between the samples around it; over what there is while the samples span less; 0
 * with one.
 */
export function rateOf(a: Float64Array, at: number, windowMs: number): { send: number; receive: number } {
  const s = at + 1;
  const last = s + (a[at]! - 1) * STRIDE;
  if (last <= s || a[last]! <= a[s]!) return { send: 0, receive: 0 };
  const start = Math.max(a[s]!, a[last]! - windowMs);
  // The sample at or before the start and the one after it (samples are in time order).
  let i = s;
  while (i + STRIDE < last && a[i + STRIDE]! <= start) i += STRIDE;
  const j = i + STRIDE;
  const f = (start - a[i]!) / (a[j]! - a[i]!);
  const from = (k: number): number => a[i + k]! + f * (a[j + k]! - a[i + k]!);
  const seconds = (a[last]! - start) / 1000;
  return {
    send: Math.max(0, (a[last + 1]! - from(1)) / seconds),
    receive: Math.max(0, (a[last + 2]! - from(2)) / seconds),
  };
}
