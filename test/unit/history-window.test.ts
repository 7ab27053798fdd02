import { describe, expect, it } from 'vitest';
import { History } from '../../src/collector/tables/history.js';
import { flowFigures, linkFigures } from '../../src/collector/tables/history-figures.js';
import { flow, link } from '../helpers/records.js';
import type { LinkRecord } from '../../src/protocol/index.js';

const T0 = 1_700_000_000_000;

function grow(r: LinkRecord, sent: number, received: number): LinkRecord {
  return { ...r, bytesSent: r.bytesSent + sent, bytesReceived: r.bytesReceived + received };
}

describe('History', () => {
  it('answers the bytes moved within a range, not the running totals', () => {
    const h = new History(linkFigures, { resolutionMs: 10_000 }, T0);
    let a = link(1, { bytesSent: 0, bytesReceived: 0 });
    const b = link(2, { bytesSent: 0, bytesReceived: 0 });
    a = grow(a, 100, 1000);
    h.sample([a, b], T0 + 10_000);
    a = grow(a, 5, 50);
    h.sample([a, b], T0 + 20_000);
    a = grow(a, 7, 70);
    h.sample([a, b], T0 + 30_000);

    expect(h.query(T0, T0 + 30_000).map((r) => [r.id, r.bytesSent, r.bytesReceived])).toEqual([['l000001', 112, 1120]]);
    const mid = h.query(T0 + 10_000, T0 + 20_000);
    expect(mid.map((r) => [r.bytesSent, r.bytesReceived])).toEqual([[5, 50]]);
    expect(mid[0]!.sendRate).toBeCloseTo(0.5);
    expect(h.query(T0 + 30_000, T0 + 40_000)).toEqual([]);
  });

  it('stores only records that moved in an interval', () => {
    const h = new History(linkFigures, {}, T0);
    const still = link(1);
    let moving = link(2);
    h.sample([still, moving], T0 + 10_000);
    moving = grow(moving, 1, 1);
    h.sample([still, moving], T0 + 20_000);
    h.sample([still, moving], T0 + 30_000);
    expect(h.layout().map((iv) => iv.records)).toEqual([2, 1, 0]);
  });

  it('counts the open interval from the current records', () => {
    const h = new History(linkFigures, {}, T0);
    const a = link(1, { bytesSent: 10, bytesReceived: 0 });
    h.sample([a], T0 + 10_000);
    const fresh = link(9, { bytesSent: 3, bytesReceived: 4 });
    const now = T0 + 15_000;
    const out = h.query(T0 + 10_000, now, [grow(a, 2, 0), fresh], now);
    expect(out.map((r) => [r.id, r.bytesSent, r.bytesReceived])).toEqual([
      ['l000001', 2, 0],
      ['l000009', 3, 4],
    ]);
  });

  it('drops intervals that leave the window', () => {
    const h = new History(linkFigures, { resolutionMs: 10_000, windowMs: 30_000 }, T0);
    let a = link(1, { bytesSent: 0, bytesReceived: 0 });
    for (let i = 1; i <= 6; i++) {
      a = grow(a, 1, 0);
      h.sample([a], T0 + i * 10_000);
    }
    expect(h.layout()).toHaveLength(3);
    expect(h.query(T0, T0 + 60_000)[0]!.bytesSent).toBe(3);
  });

  it('coarsens the oldest intervals under the budget and keeps the totals exact', () => {
    const n = 100;
    const h = new History(linkFigures, { resolutionMs: 10_000, windowMs: 3_600_000, budgetBytes: 60_000 }, T0);
    let recs = Array.from({ length: n }, (_, i) => link(i, { bytesSent: 0, bytesReceived: 0 }));
    for (let t = 1; t <= 60; t++) {
      recs = recs.map((r) => grow(r, 1, 2));
      h.sample(recs, T0 + t * 10_000);
      expect(h.bytes()).toBeLessThanOrEqual(60_000);
    }
    const layout = h.layout();
    expect(layout.length).toBeLessThan(60);
    const spans = layout.map((iv) => iv.end - iv.start);
    expect(spans[0]).toBeGreaterThan(10_000);
    expect(spans[spans.length - 1]).toBe(10_000);
    for (let i = 1; i < layout.length; i++) expect(layout[i]!.start).toBe(layout[i - 1]!.end);
    const all = h.query(T0, T0 + 600_000);
    expect(all).toHaveLength(n);
    for (const r of all) expect([r.bytesSent, r.bytesReceived]).toEqual([60, 120]);
  });

  it('coarsens intervals that hold different records (one holding the other, or neither) without losing an amount', () => {
    const n = 40;
    const h = new History(linkFigures, { resolutionMs: 10_000, windowMs: 3_600_000, budgetBytes: 20_000 }, T0);
    let recs = Array.from({ length: n }, (_, i) => link(i, { bytesSent: 0, bytesReceived: 0 }));
    const want = new Map<string, number>();
    for (let t = 1; t <= 60; t++) {
      // Interval t moves every record when t % 3 === 0, else the even records in even intervals
      // and the odd ones in odd intervals: merges meet supersets, subsets and disjoint sets.
      recs = recs.map((r, i) => (t % 3 === 0 || i % 2 === t % 2 ? grow(r, i + 1, t) : r));
      recs.forEach((r, i) => t % 3 !== 0 && i % 2 !== t % 2 ? undefined : want.set(r.id, (want.get(r.id) ?? 0) + i + 1));
      h.sample(recs, T0 + t * 10_000);
      expect(h.bytes()).toBeLessThanOrEqual(20_000);
    }
    expect(h.layout().length).toBeLessThan(60);
    const all = h.query(T0, T0 + 600_000);
    expect(all.map((r) => [r.id, r.bytesSent])).toEqual([...want].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(all.map((r) => r.bytesReceived)).toEqual(recs.map((r) => r.bytesReceived));
  });

  it('keeps amounts of 2^32 bytes and more exact, also where coarsening adds two that only together pass 2^32', () => {
    const h = new History(linkFigures, { resolutionMs: 10_000, windowMs: 3_600_000, budgetBytes: 2_000 }, T0);
    let a = link(1, { bytesSent: 0, bytesReceived: 0 });
    const big = 2 ** 40 + 3;
    const amounts = [3_000_000_000, 3_000_000_000, 3_000_000_000, big, 1, 4_294_967_295, 1];
    amounts.forEach((x, i) => {
      a = grow(a, x, i);
      h.sample([a], T0 + (i + 1) * 10_000);
    });
    // Coarsened (the first merge adds 3,000,000,000 twice), and not one byte lost or wrapped.
    expect(h.layout().length).toBeLessThan(amounts.length);
    expect(h.query(T0, T0 + 80_000).map((r) => [r.bytesSent, r.bytesReceived])).toEqual([[amounts.reduce((x, y) => x + y, 0), 21]]);
  });

  it('stores an interval where the same records moved as in the one before in 4 bytes an amount, sharing its slot list', () => {
    const n = 1000;
    const h = new History(linkFigures, { resolutionMs: 10_000 }, T0);
    let recs = Array.from({ length: n }, (_, i) => link(i, { bytesSent: 0, bytesReceived: 0 }));
    const sizes: number[] = [h.bytes()];
    for (let t = 1; t <= 3; t++) {
      recs = recs.map((r, i) => grow(r, i + 1, 2 * t));
      h.sample(recs, T0 + t * 10_000);
      sizes.push(h.bytes());
    }
    const amounts = n * linkFigures.names.length * 4;
    // The second and third intervals: their amounts (and a fixed overhead) but no slots of their own.
    expect(sizes[2]! - sizes[1]!).toBeGreaterThanOrEqual(amounts);
    expect(sizes[2]! - sizes[1]!).toBeLessThan(amounts + n * 4);
    expect(sizes[3]! - sizes[2]!).toBe(sizes[2]! - sizes[1]!);
    expect(h.query(T0, T0 + 30_000).map((r) => r.bytesReceived)).toEqual(recs.map(() => 12));
  });

  it('treats a counter that went backwards as a reset and forgets records nothing mentions', () => {
    const h = new History(flowFigures, { windowMs: 20_000 }, T0);
    h.sample([flow(1, { bytes: 100, packets: 2, payloadBytes: 10 })], T0 + 10_000);
    h.sample([flow(1, { bytes: 30, packets: 1, payloadBytes: 5 })], T0 + 20_000);
    expect(h.query(T0 + 10_000, T0 + 20_000).map((r) => [r.bytes, r.packets, r.payloadBytes])).toEqual([[30, 1, 5]]);
    h.sample([], T0 + 30_000);
    h.sample([], T0 + 40_000);
    h.sample([], T0 + 50_000);
    expect(h.query(T0, T0 + 50_000)).toEqual([]);
    const before = h.bytes();
    h.sample([flow(2, { bytes: 1 })], T0 + 60_000);
    expect(h.bytes()).toBeGreaterThanOrEqual(before);
  });
});
