import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../src/collector/tables/flows-rates.js';
import { findDuplicates, type CopyCandidate } from '../../src/collector/tables/flows-duplicates.js';

describe('flow rates', () => {
  it('is bytes per second over the window', () => {
    const r = new RateWindow(10_000, 0);
    for (let t = 1000; t <= 30_000; t += 1000) r.add(t, t * 5); // 5000 B/s
    expect(r.rate(30_000)).toBeCloseTo(5000);
    expect(r.rate(45_000)).toBe(0); // nothing moved in the last window
  });

  it('keeps the rate over exactly the window when drained far more often, and slides without new samples', () => {
    const r = new RateWindow(10_000, 0);
    // 1,000 B/s for 30 s in 100 ms drains, then nothing.
    for (let t = 100; t <= 30_000; t += 100) r.add(t, t);
    expect(r.rate(30_000)).toBeCloseTo(1000, 6);
    // The window 25–35 s: 5 s of traffic.
    expect(r.rate(35_000)).toBeCloseTo(500, 6);
    for (let t = 30_100; t <= 33_000; t += 100) r.add(t, 30_000);
    expect(r.rate(35_000)).toBeCloseTo(500, 6);
    expect(r.rate(40_000)).toBe(0);
  });

  it('uses the flow life when younger than the window, at least 1 s', () => {
    const r = new RateWindow(10_000, 1000);
    r.add(1500, 4000);
    expect(r.rate(1500)).toBe(4000);
    r.add(5000, 8000);
    expect(r.rate(5000)).toBe(2000);
  });
});

const c = (over: Partial<CopyCandidate>): CopyCandidate => ({
  proto: 17, src: '10.41.1.2', dst: '10.41.1.3', srcPort: 5000, dstPort: 6000,
  direction: 'ingress', netnsInode: 1, ifindex: 1, closeness: 0, ...over,
});

describe('duplicate detection', () => {
  it('keeps the copy closest to a workload', () => {
    const d = findDuplicates([c({ ifindex: 9, closeness: 2 }), c({ ifindex: 3, direction: 'egress' }), c({ ifindex: 2 }), c({ ifindex: 1, closeness: 3, direction: 'egress' })]);
    expect([...d].sort()).toEqual([0, 1, 3]);
  });

  it('never marks a lone copy, nor packets going the other way', () => {
    expect(findDuplicates([c({}), c({ src: '10.41.1.3', dst: '10.41.1.2', srcPort: 6000, dstPort: 5000, ifindex: 2 })]).size).toBe(0);
  });

  it('breaks ties by netns then ifindex', () => {
    expect([...findDuplicates([c({ ifindex: 5 }), c({ ifindex: 4 })])]).toEqual([0]);
    expect([...findDuplicates([c({ netnsInode: 2, ifindex: 1 }), c({ netnsInode: 1, ifindex: 9 })])]).toEqual([0]);
  });
});
