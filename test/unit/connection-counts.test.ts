import { describe, expect, it } from 'vitest';
import { connectionCounts } from '../../src/collector/tables/connection-counts.js';

describe('connection counts', () => {
  it('shares one frozen object for equal small counts, and makes its own for large ones', () => {
    const a = connectionCounts(1, 0, 0);
    expect(a).toEqual({ active: 1, closed: 0, failed: 0 });
    expect(connectionCounts(1, 0, 0)).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(connectionCounts(0, 1, 0)).toEqual({ active: 0, closed: 1, failed: 0 });
    expect(connectionCounts(0, 1, 0)).not.toBe(a);
    expect(connectionCounts(15, 15, 15)).toBe(connectionCounts(15, 15, 15));
    const big = connectionCounts(3, 1000, 2);
    expect(big).toEqual({ active: 3, closed: 1000, failed: 2 });
    expect(connectionCounts(3, 1000, 2)).not.toBe(big);
  });
});
