import { describe, expect, it } from 'vitest';
import { kept } from '../../src/collector/tables/kept.js';

describe('kept', () => {
  it('gives the array itself when every record passes, not a copy', () => {
    const rs = [1, 2, 3];
    expect(kept(rs, () => true)).toBe(rs);
    const none: number[] = [];
    expect(kept(none, () => false)).toBe(none);
  });

  it('gives what filter gives, in a new array, when any record fails', () => {
    const rs = Array.from({ length: 50 }, (_, i) => i);
    for (const keep of [(n: number) => n !== 0, (n: number) => n !== 49, (n: number) => n % 3 === 0, () => false, (n: number) => n > 10 && n < 20]) {
      const out = kept(rs, keep);
      expect(out).toEqual(rs.filter(keep));
      expect(out).not.toBe(rs);
    }
    expect(rs).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
