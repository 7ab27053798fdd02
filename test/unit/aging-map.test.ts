import { describe, expect, it } from 'vitest';
import { AgingMap } from '../../src/collector/tables/aging-map.js';

describe('aging map', () => {
  it('keeps an entry at least keepMs after it was last set, and forgets it within twice that', () => {
    const m = new AgingMap<string, number>(100);
    m.set('a', 1, 0);
    for (let t = 0; t <= 100; t += 10) {
      m.expire(t);
      expect(m.get('a')).toBe(1);
    }
    let gone = -1;
    for (let t = 110; t <= 220 && gone < 0; t += 10) {
      m.expire(t);
      if (!m.has('a')) gone = t;
    }
    expect(gone).toBeGreaterThan(100);
    expect(gone).toBeLessThanOrEqual(210);
    expect(m.size).toBe(0);
  });

  it('keeps an entry set again at every turn, with its latest value', () => {
    const m = new AgingMap<string, number>(100);
    for (let t = 0; t <= 1000; t += 10) {
      m.set('a', t, t);
      m.expire(t);
      expect(m.get('a')).toBe(t);
    }
  });

  it('forgets everything once nothing was set for keepMs, however long expire was not called', () => {
    const m = new AgingMap<number, number>(100);
    for (let i = 0; i < 1000; i++) m.set(i, i, i % 50);
    expect(m.size).toBe(1000);
    m.expire(150);
    expect(m.size).toBe(0);
    expect(m.get(3)).toBeUndefined();
  });
});
