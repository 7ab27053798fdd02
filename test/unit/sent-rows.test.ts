// What the feed keeps of the records it sent: their values, row by row, so that a record changed
// in place is still compared with what went out.
import { describe, expect, it } from 'vitest';
import { SentRows } from '../../src/collector/privsep/sent-rows.js';
import { link } from '../helpers/records.js';

describe('sent rows', () => {
  it('finds the fields a record changed in place since its row was written', () => {
    const rows = new SentRows(2);
    const a = link(1, { rttMs: 0.5 });
    const b = link(2);
    rows.write(0, a);
    rows.write(1, b);
    expect(rows.ids).toEqual([a.id, b.id]);
    expect(rows.diff(0, a)).toBeUndefined();
    a.bytesSent += 5;
    a.rttMs = undefined;
    a.connections = { ...a.connections, closed: a.connections.closed + 1 };
    expect(rows.diff(0, a)).toEqual({ id: a.id, set: { bytesSent: a.bytesSent, connections: a.connections }, unset: ['rttMs'] });
    rows.write(0, a);
    expect(rows.diff(0, a)).toBeUndefined();
    expect(rows.diff(1, b)).toBeUndefined();
  });

  it('takes an equal object in place of the one sent as no change, and a new field as one', () => {
    const rows = new SentRows(1);
    const a = link(1);
    rows.write(0, a);
    a.client = { ...a.client };
    expect(rows.diff(0, a)).toBeUndefined();
    const withVip = { ...a, details: { vip: '10.0.0.1:80' } };
    expect(rows.diff(0, withVip)).toEqual({ id: a.id, set: { details: { vip: '10.0.0.1:80' } } });
  });

  it('keeps a field that stops being a number as a value', () => {
    const rows = new SentRows(2);
    rows.write(0, { id: 'a', x: 1 });
    rows.write(1, { id: 'b', x: 'two' });
    expect(rows.diff(0, { id: 'a', x: 1 })).toBeUndefined();
    expect(rows.diff(1, { id: 'b', x: 'two' })).toBeUndefined();
    expect(rows.diff(0, { id: 'a', x: 2 })).toEqual({ id: 'a', set: { x: 2 } });
  });

  it('knows whether records come in the order of its rows', () => {
    const rows = new SentRows(2);
    rows.write(0, link(1));
    rows.write(1, link(2));
    const order = (...ns: number[]) => ({ size: ns.length, id: (i: number) => link(ns[i]!).id });
    expect(rows.sameOrder(order(1, 2))).toBe(true);
    expect(rows.sameOrder(order(2, 1))).toBe(false);
    expect(rows.sameOrder(order(1))).toBe(false);
  });

  it('keeps the rows written when records left before theirs were', () => {
    const rows = new SentRows(3);
    rows.write(0, link(1));
    rows.write(1, link(3));
    rows.truncate(2);
    expect(rows.size).toBe(2);
    expect(rows.ids).toEqual([link(1).id, link(3).id]);
    expect(rows.diff(1, link(3))).toBeUndefined();
  });
});
