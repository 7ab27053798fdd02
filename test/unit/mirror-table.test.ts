import { describe, expect, it } from 'vitest';
import { MirrorTable } from '../../src/collector/privsep/mirror-table.js';
import type { RecordPatch, TableDelta } from '../../src/collector/privsep/messages.js';

interface Row {
  id: string;
  n: number;
  tag?: string;
}

/** A small deterministic generator, so a failure replays. */
function random(seed: number): (below: number) => number {
  let s = seed;
  return (below) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % below;
  };
}

const delta = (d: Partial<TableDelta>): TableDelta => ({ type: 'table', table: 'links', kind: 'figures', reset: false, last: true, upsert: [], patch: [], remove: [], ...d });
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const sorted = (m: Map<string, Row>): Row[] => [...m.values()].sort((a, b) => (a.id < b.id ? -1 : 1));

describe('table mirror without an index', () => {
  it('finds records by their order for patches in any order, new, replaced and gone ones alike', () => {
    const rnd = random(7);
    const mirror = new MirrorTable<Row>();
    const model = new Map<string, Row>();
    const id = (k: number): string => `link-${String(k).padStart(4, '0')}`;
    // A reset in chunks, in id order as the parent sends it.
    const first = Array.from({ length: 300 }, (_, k) => ({ id: id(k * 3), n: k }));
    for (let c = 0; c < 3; c++) mirror.apply(delta({ reset: c === 0, last: c === 2, kind: 'topology', upsert: copy(first.slice(c * 100, c * 100 + 100)) as never[] }));
    for (const r of first) model.set(r.id, r);
    expect(mirror.records()).toEqual(sorted(model));
    for (let step = 0; step < 200; step++) {
      const held = mirror.records();
      const heldIds = held.map((r) => r.id);
      const upsert: Row[] = [];
      const patch: RecordPatch[] = [];
      const remove: string[] = [];
      const ids = [...model.keys()];
      for (let i = rnd(4); i > 0; i--) {
        // The parent sends a record at most once a delta.
        const u = { id: id(rnd(1000)), n: rnd(100) };
        if (!upsert.some((x) => x.id === u.id)) upsert.push(u);
      }
      for (let i = rnd(30); i > 0; i--) {
        const target = ids[rnd(ids.length)]!;
        if (upsert.some((u) => u.id === target) || patch.some((p) => p.id === target)) continue;
        patch.push(rnd(5) === 0 ? { id: target, set: { tag: `t${rnd(3)}` }, unset: ['n'] } : { id: target, set: { n: rnd(100) } });
      }
      for (let i = rnd(3); i > 0; i--) {
        const target = ids[rnd(ids.length)]!;
        if (!upsert.some((u) => u.id === target) && !patch.some((p) => p.id === target)) remove.push(target);
      }
      if (rnd(2) === 0) patch.sort((a, b) => (a.id < b.id ? -1 : 1));
      mirror.apply(delta({ upsert: copy(upsert) as never[], patch: copy(patch), remove }));
      for (const u of upsert) model.set(u.id, u);
      for (const p of patch) {
        const r = { ...model.get(p.id)!, ...(p.set as Partial<Row>) };
        for (const k of p.unset ?? []) delete (r as unknown as Record<string, unknown>)[k];
        model.set(p.id, r);
      }
      for (const g of remove) model.delete(g);
      expect(mirror.records()).toEqual(sorted(model));
      expect(mirror.size()).toBe(model.size);
      // The array handed out before keeps the records it had, in order.
      expect(held.map((r) => r.id)).toEqual(heldIds);
    }
  });

  it('refuses a patch for a record it does not hold', () => {
    const mirror = new MirrorTable<Row>();
    mirror.apply(delta({ reset: true, upsert: [{ id: 'b', n: 1 }] as never[] }));
    expect(() => mirror.apply(delta({ patch: [{ id: 'a', set: { n: 2 } }] }))).toThrow(/never sent/);
    expect(() => mirror.apply(delta({ patch: [{ id: 'c', set: { n: 2 } }] }))).toThrow(/never sent/);
  });
});
