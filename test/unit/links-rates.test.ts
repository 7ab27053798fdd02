import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../src/collector/tables/links-rates.js';

describe('RateWindow', () => {
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
  });

  it('refuses a window that is not positive', () => {
    expect(() => new RateWindow(0)).toThrow(/rate window/);
  });
});
