import { describe, expect, it } from 'vitest';
import { addRateSample, RATE_WIDTH, rateOf } from '../../src/collector/tables/links-rates.js';

/** A link's rate samples at an offset in a row of doubles, as the table keeps them. */
class RateWindow {
  private readonly a = new Float64Array(3 + RATE_WIDTH + 3).fill(-7);
  constructor(private readonly windowMs: number) {
    this.a[3] = 0;
  }
  add(atMs: number, sent: number, received: number): void {
    addRateSample(this.a, 3, this.windowMs, atMs, sent, received);
  }
  rates(): { send: number; receive: number } {
    return rateOf(this.a, 3, this.windowMs);
  }
  /** The doubles around the samples, which they never touch. */
  around(): number[] {
    return [...this.a.subarray(0, 3), ...this.a.subarray(3 + RATE_WIDTH)];
  }
}

describe('link rates', () => {
  it('is zero with a single sample', () => {
    const w = new RateWindow(10_000);
    w.add(0, 100, 100);
    expect(w.rates()).toEqual({ send: 0, receive: 0 });
  });

  it('divides the growth over the window by its length', () => {
    const w = new RateWindow(10_000);
    w.add(0, 0, 0);
    w.add(1000, 1000, 500);
    w.add(2000, 3000, 1000);
    expect(w.rates()).toEqual({ send: 1500, receive: 500 });
  });

  it('slides: old samples leave, and the rate falls to zero when nothing moves', () => {
    const w = new RateWindow(2000);
    w.add(0, 0, 0);
    w.add(1000, 10_000, 0);
    w.add(5000, 10_000, 0);
    w.add(8000, 10_000, 0);
    expect(w.rates().send).toBe(0);
  });

  it('keeps the rate right when added to far more often than its window is long', () => {
    const w = new RateWindow(10_000);
    // 1,000 B/s for 30 s in 100 ms reads, then nothing.
    for (let t = 0; t <= 30_000; t += 100) w.add(t, t, 2 * t);
    expect(w.rates().send).toBeCloseTo(1000, 6);
    expect(w.rates().receive).toBeCloseTo(2000, 6);
    for (let t = 30_100; t <= 35_000; t += 100) w.add(t, 30_000, 60_000);
    // The last 10 s, 5 of them idle.
    expect(w.rates().send).toBeCloseTo(500, 6);
    expect(w.rates().receive).toBeCloseTo(1000, 6);
    for (let t = 35_100; t <= 50_000; t += 100) w.add(t, 30_000, 60_000);
    expect(w.rates()).toEqual({ send: 0, receive: 0 });
    expect(w.around()).toEqual(Array(6).fill(-7));
  });

  it('never writes outside its six samples, whatever the clock does', () => {
    const w = new RateWindow(10_000);
    // A clock that mostly goes forward and sometimes back (a fixed pseudo-random walk).
    let seed = 7;
    let t = 0;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      t += seed % 5 === 0 ? -(seed % 15_000) : seed % 6000;
      w.add(t, i, 2 * i);
      expect(w.around()).toEqual(Array(6).fill(-7));
    }
  });
});
