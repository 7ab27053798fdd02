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

  it('refuses a window that is not positive', () => {
    expect(() => new RateWindow(0)).toThrow(/rate window/);
  });
});
