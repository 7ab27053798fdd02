import { describe, expect, it } from 'vitest';
import { COL, LinkColumns, U32 } from '../../src/collector/tables/link-columns.js';
import { CONN, CONN_U32, ConnColumns } from '../../src/collector/tables/conn-columns.js';

describe('link columns', () => {
  it('gives every link its own row across blocks, and a freed row back zeroed (no RTT)', () => {
    const cols = new LinkColumns();
    const slots = Array.from({ length: 2500 }, () => cols.take());
    expect(new Set(slots).size).toBe(2500);
    for (const s of slots) {
      cols.block(s)[cols.at(s) + COL.closedSent] = s + 1;
      cols.block(s)[cols.at(s) + COL.rates] = -(s + 1);
      cols.set(s, COL.rttUs, s);
      cols.setU32(s, U32.serverPid, s + 7);
    }
    for (const s of slots) {
      expect(cols.block(s)[cols.at(s) + COL.closedSent]).toBe(s + 1);
      expect(cols.block(s)[cols.at(s) + COL.rates]).toBe(-(s + 1));
      expect(cols.get(s, COL.rttUs)).toBe(s);
      expect(cols.u32(s, U32.serverPid)).toBe(s + 7);
    }
    cols.give(slots[1500]!);
    const again = cols.take();
    expect(again).toBe(slots[1500]);
    expect(cols.block(again)[cols.at(again) + COL.closedSent]).toBe(0);
    expect(cols.block(again)[cols.at(again) + COL.rates]).toBe(0);
    expect(cols.get(again, COL.rttUs)).toBeNaN();
    expect(cols.u32(again, U32.serverPid)).toBe(0);
    expect(cols.block(slots[1501]!)[cols.at(slots[1501]!) + COL.closedSent]).toBe(slots[1501]! + 1);
  });

  it('gives a connection a row of its own, not missing until a read misses it, and zeroes a row taken again', () => {
    const cols = new ConnColumns();
    const a = cols.take();
    const b = cols.take();
    expect(a).not.toBe(b);
    expect(cols.get(a, CONN.missingSinceMs)).toBeNaN();
    cols.set(a, CONN.sent, 5);
    cols.set(a, CONN.missingSinceMs, 1000);
    cols.setU32(a, CONN_U32.next, b + 1);
    cols.give(a);
    const again = cols.take();
    expect(again).toBe(a);
    expect(cols.get(again, CONN.sent)).toBe(0);
    expect(cols.get(again, CONN.missingSinceMs)).toBeNaN();
    expect(cols.u32(again, CONN_U32.next)).toBe(0);
  });
});
