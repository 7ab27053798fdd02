import { describe, expect, it } from 'vitest';
import { COL, LinkColumns, rowAt, U32 } from '../../src/collector/tables/link-columns.js';

describe('link columns', () => {
  it('gives every link its own row across blocks, and a freed row back zeroed (no RTT)', () => {
    const cols = new LinkColumns();
    const slots = Array.from({ length: 2500 }, () => cols.take());
    expect(new Set(slots).size).toBe(2500);
    for (const s of slots) {
      cols.block(s)[rowAt(s) + COL.closedSent] = s + 1;
      cols.block(s)[rowAt(s) + COL.rates] = -(s + 1);
      cols.set(s, COL.rttUs, s);
      cols.setU32(s, U32.serverPid, s + 7);
    }
    for (const s of slots) {
      expect(cols.block(s)[rowAt(s) + COL.closedSent]).toBe(s + 1);
      expect(cols.block(s)[rowAt(s) + COL.rates]).toBe(-(s + 1));
      expect(cols.get(s, COL.rttUs)).toBe(s);
      expect(cols.u32(s, U32.serverPid)).toBe(s + 7);
    }
    cols.give(slots[1500]!);
    const again = cols.take();
    expect(again).toBe(slots[1500]);
    expect(cols.block(again)[rowAt(again) + COL.closedSent]).toBe(0);
    expect(cols.block(again)[rowAt(again) + COL.rates]).toBe(0);
    expect(cols.get(again, COL.rttUs)).toBeNaN();
    expect(cols.u32(again, U32.serverPid)).toBe(0);
    expect(cols.block(slots[1501]!)[rowAt(slots[1501]!) + COL.closedSent]).toBe(slots[1501]! + 1);
  });
});
