// The pure parts of privilege separation: who the server runs as, what /proc says about a
// process, and the table mirror (the parent's deltas rebuild the table exactly on the other side).
import { describe, expect, it } from 'vitest';
import { MirrorTable } from '../../src/collector/privsep/mirror-table.js';
import { noCapabilities, parseStatus } from '../../src/collector/privsep/process-status.js';
import { setprivArgs } from '../../src/collector/privsep/supervisor.js';
import { CHUNK, TableFeed } from '../../src/collector/privsep/table-feed.js';
import { sameJson } from '../../src/protocol/same-json.js';
import { resolveUser } from '../../src/collector/privsep/user.js';
import type { TableDelta } from '../../src/collector/privsep/messages.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { ChangeKind } from '../../src/collector/tables/types.js';
import type { LinkRecord } from '../../src/protocol/index.js';
import { link } from '../helpers/records.js';

const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nweft:x:998:997::/var/lib/weft:/usr/sbin/nologin\n';

describe('the server user', () => {
  it('is looked up by name, or given as UID[:GID]', () => {
    expect(resolveUser('nobody', PASSWD)).toEqual({ uid: 65534, gid: 65534 });
    expect(resolveUser('weft', PASSWD)).toEqual({ uid: 998, gid: 997 });
    expect(resolveUser('1234', '')).toEqual({ uid: 1234, gid: 1234 });
    expect(resolveUser('1234:5678', '')).toEqual({ uid: 1234, gid: 5678 });
  });

  it('is never root, and an unknown name says so', () => {
    expect(() => resolveUser('root', PASSWD)).toThrow(/is root/);
    expect(() => resolveUser('0', PASSWD)).toThrow(/is root/);
    expect(() => resolveUser('1000:0', PASSWD)).toThrow(/is root/);
    expect(() => resolveUser('ghost', PASSWD)).toThrow(/no user "ghost"/);
  });

  it('is switched to by setpriv with every capability set emptied and no_new_privs', () => {
    expect(setprivArgs({ uid: 65534, gid: 65534 })).toEqual(['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', '--']);
  });
});

describe('/proc/PID/status', () => {
  it('gives ids, capability sets and no_new_privs', () => {
    const s = parseStatus('Name:\tnode\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\nGroups:\t\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n');
    expect(s).toMatchObject({ uids: [65534, 65534, 65534, 65534], groups: [], capEff: '0000000000000000', noNewPrivs: true });
    expect(noCapabilities(s.capBnd)).toBe(true);
    expect(noCapabilities('000001ffffffffff')).toBe(false);
    expect(() => parseStatus('Name:\tnode\n')).toThrow(/no Uid line/);
  });
});

describe('table mirror', () => {
  const wire = (d: TableDelta): TableDelta => JSON.parse(JSON.stringify(d)) as TableDelta;

  function pair(initial: LinkRecord[]) {
    const source = new MemoryTable<LinkRecord>(initial);
    const sent: TableDelta[] = [];
    const feed = new TableFeed<LinkRecord>('links', source, (d, written) => {
      sent.push(wire(d));
      written();
    });
    const mirror = new MirrorTable<LinkRecord>();
    const kinds: ChangeKind[] = [];
    mirror.onChange((k) => kinds.push(k));
    /** Delivers what the feed sent since the last call. */
    const deliver = (): TableDelta[] => {
      const batch = sent.splice(0);
      for (const d of batch) mirror.apply(d);
      return batch;
    };
    return { source, feed, mirror, kinds, deliver, sent };
  }

  it('rebuilds the table from a reset and then only what changed, in id order', () => {
    const { source, feed, mirror, kinds, deliver } = pair([link(1), link(2), link(3)]);
    feed.reset();
    deliver();
    expect(mirror.records()).toEqual(source.records());

    source.upsert([link(2, { bytesSent: 5 })]);
    feed.flushNow('figures');
    const [figures, ...more] = deliver();
    expect(more).toEqual([]);
    expect(figures!.upsert).toEqual([]);
    expect(figures!.patch).toEqual([{ id: link(2).id, set: { bytesSent: 5 } }]);
    expect(figures!.remove).toEqual([]);
    expect(mirror.records()).toEqual(source.records());

    source.remove([link(1).id]);
    source.upsert([link(0), link(4)]);
    feed.flushNow('topology');
    const [topology] = deliver();
    expect(topology!.upsert.map((r) => r.id)).toEqual([link(0).id, link(4).id]);
    expect(topology!.remove).toEqual([link(1).id]);

    expect(mirror.records().map((r) => r.id)).toEqual([0, 2, 3, 4].map((n) => link(n).id));
    expect(mirror.records()).toEqual(source.records());
    expect(mirror.size()).toBe(4);
    expect(kinds).toEqual(['topology', 'figures', 'topology']);
    feed.flushNow('figures');
    expect(deliver()).toEqual([]);
    feed.close();
  });

  it('patches a record in place; an array it handed out keeps its records as others come and go', () => {
    const { source, feed, mirror, deliver } = pair([link(1), link(2)]);
    feed.reset();
    deliver();
    const before = mirror.records();
    const two = before[1]!;
    source.upsert([link(2, { bytesSent: 9 })]);
    feed.flushNow('figures');
    deliver();
    expect(mirror.records()[1]).toBe(two);
    expect(two.bytesSent).toBe(9);
    source.remove([link(1).id]);
    source.upsert([link(3)]);
    feed.flushNow('topology');
    deliver();
    expect(before.map((r) => r.id)).toEqual([link(1).id, link(2).id]);
    expect(mirror.records().map((r) => r.id)).toEqual([link(2).id, link(3).id]);
    expect(mirror.records()).toEqual(source.records());
  });

  it('sends what a table changed in place, also while a delta waits for the channel', () => {
    const n = CHUNK * 2 + 10;
    const records = Array.from({ length: n }, (_, i) => link(i));
    const source = new MemoryTable<LinkRecord>(records);
    const mirror = new MirrorTable<LinkRecord>();
    const taken: (() => void)[] = [];
    const feed = new TableFeed<LinkRecord>('links', source, (d, written) => {
      // Serialised when the channel takes it, as process.send does.
      mirror.apply(wire(d));
      taken.push(written);
    }, 0, 1);
    const drain = (): void => {
      while (taken.length > 0) taken.shift()!();
    };
    feed.reset();
    drain();
    expect(mirror.records()).toEqual(records);
    for (const r of records) r.bytesSent += 1;
    feed.flushNow('figures');
    // One message is in the channel; the walk waits. The table moves on meanwhile, in place.
    expect(taken).toHaveLength(1);
    records[0]!.bytesSent += 100;
    records[n - 1]!.bytesSent += 100;
    records[n - 1]!.connections = { active: 0, closed: 9, failed: 0 };
    drain();
    feed.flushNow('figures');
    drain();
    expect(mirror.records()).toEqual(records);
    feed.close();
  });

  it('applies a large figures change chunk by chunk without copying its array or records', () => {
    const n = CHUNK * 2 + 10;
    const { source, feed, mirror, deliver, sent } = pair(Array.from({ length: n }, (_, i) => link(i)));
    feed.reset();
    deliver();
    const held = mirror.records();
    const objects = [...held];
    source.replace(source.records().map((r) => ({ ...r, bytesSent: r.bytesSent + 1 })));
    feed.flushNow('figures');
    const chunks = sent.splice(0);
    expect(chunks).toHaveLength(3);
    mirror.apply(chunks[0]!);
    expect(held[CHUNK - 1]!.bytesSent).toBe(link(CHUNK - 1).bytesSent + 1);
    expect(held[CHUNK]!.bytesSent).toBe(link(CHUNK).bytesSent);
    mirror.apply(chunks[1]!);
    mirror.apply(chunks[2]!);
    expect(mirror.records()).toBe(held);
    expect(held.every((r, i) => r === objects[i])).toBe(true);
    expect(mirror.records()).toEqual(source.records());
  });

  it('builds a message only while fewer than its bound wait in the channel', async () => {
    const bound = 3;
    const messages = bound + 3;
    const n = CHUNK * (messages - 1) + 10;
    const source = new MemoryTable<LinkRecord>(Array.from({ length: n }, (_, i) => link(i)));
    const mirror = new MirrorTable<LinkRecord>();
    const sent: TableDelta[] = [];
    const taken: (() => void)[] = [];
    const feed = new TableFeed<LinkRecord>('links', source, (d, written) => {
      sent.push(d);
      mirror.apply(wire(d));
      taken.push(written);
    }, 0, bound);
    const take = (): void => taken.shift()!();
    feed.reset();
    expect(sent).toHaveLength(bound);
    expect(sent[0]).toMatchObject({ reset: true, last: false });
    // A change while the reset is on its way waits for it, and goes out as the next delta.
    source.upsert([link(1, { bytesSent: 99 })]);
    feed.flushNow('figures');
    expect(sent).toHaveLength(bound);
    take();
    expect(sent).toHaveLength(bound + 1);
    while (sent.length < messages) take();
    expect(sent.map((d) => d.last)).toEqual([...Array(messages - 1).fill(false), true]);
    while (taken.length > 0) take();
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(messages + 1);
    expect(sent[messages]).toMatchObject({ reset: false, last: true, patch: [{ id: link(1).id, set: { bytesSent: 99 } }] });
    take();
    expect(mirror.records()).toEqual(source.records());

    // A reset (a new server process) drops the delta being sent, and the old channel's late word
    // on what it held changes nothing.
    source.replace(source.records().map((r) => ({ ...r, bytesSent: r.bytesSent + 1 })));
    feed.flushNow('figures');
    expect(sent).toHaveLength(messages + 1 + bound);
    const old = taken.splice(0);
    feed.reset();
    expect(sent).toHaveLength(messages + 1 + 2 * bound);
    for (const written of old) written();
    expect(sent).toHaveLength(messages + 1 + 2 * bound);
    while (taken.length > 0) take();
    expect(sent.slice(messages + 1 + bound).map((d) => [d.reset, d.last])).toEqual([[true, false], ...Array(messages - 2).fill([false, false]), [false, true]]);
    expect(mirror.records()).toEqual(source.records());
    feed.close();
  });

  it('splits a large change into chunks and tells listeners once, when the last is in', () => {
    const n = CHUNK * 2 + 10;
    const { source, feed, mirror, kinds, deliver } = pair(Array.from({ length: n }, (_, i) => link(i)));
    feed.reset();
    const reset = deliver();
    expect(reset.map((d) => [d.reset, d.last, d.upsert.length])).toEqual([
      [true, false, CHUNK],
      [false, false, CHUNK],
      [false, true, 10],
    ]);
    source.replace(source.records().map((r) => ({ ...r, bytesSent: r.bytesSent + 1 })));
    source.remove([link(7).id]);
    feed.flushNow('figures');
    expect(deliver().map((d) => [d.last, d.upsert.length, d.patch.length, d.remove.length])).toEqual([
      [false, 0, CHUNK, 1],
      [false, 0, CHUNK, 0],
      [true, 0, 9, 0],
    ]);
    expect(mirror.records()).toEqual(source.records());
    expect(kinds).toEqual(['topology', 'figures']);
  });

  it('finds new, changed and gone records anywhere in a large change, chunk after chunk', () => {
    const n = CHUNK * 3;
    const { source, feed, mirror, kinds, deliver } = pair(Array.from({ length: n }, (_, i) => link(2 * i)));
    feed.reset();
    deliver();
    // Every third record goes, every fifth changes, and new ids fall between the old ones.
    source.remove(Array.from({ length: n }, (_, i) => link(2 * i).id).filter((_, i) => i % 3 === 0));
    source.upsert(Array.from({ length: n }, (_, i) => (i % 5 === 0 ? link(2 * i, { bytesSent: -i - 1 }) : link(2 * i + 1))));
    feed.flushNow('topology');
    const sent = deliver();
    expect(sent.reduce((k, d) => k + d.upsert.length + d.patch.length + d.remove.length, 0)).toBe(n + n / 3 - n / 15);
    expect(sent.map((d) => d.last)).toEqual([...Array(sent.length - 1).fill(false), true]);
    expect(Math.max(...sent.map((d) => d.upsert.length + d.patch.length))).toBeLessThanOrEqual(CHUNK);
    expect(mirror.records()).toEqual(source.records());
    expect(kinds).toEqual(['topology', 'topology']);
  });

  it('sends changes that come together as one delta, topology if any was', async () => {
    const { source, feed, mirror, kinds, deliver } = pair([link(1)]);
    feed.reset();
    deliver();
    source.upsert([link(1, { bytesSent: 7 })]);
    source.upsert([link(2)]);
    source.upsert([link(2, { bytesSent: 9 })]);
    await new Promise((r) => setImmediate(r));
    const [d, ...more] = deliver();
    expect(more).toEqual([]);
    expect(d).toMatchObject({ kind: 'topology', reset: false, last: true, remove: [] });
    expect(d!.upsert.map((r) => [r.id, (r as LinkRecord).bytesSent])).toEqual([[link(2).id, 9]]);
    expect(d!.patch).toEqual([{ id: link(1).id, set: { bytesSent: 7 } }]);
    expect(mirror.records()).toEqual(source.records());
    expect(kinds).toEqual(['topology', 'topology']);
    feed.close();
  });

  it('holds figure changes for figuresEveryMs but sends topology at once', async () => {
    const source = new MemoryTable<LinkRecord>([link(1)]);
    const sent: { at: number; d: TableDelta }[] = [];
    const feed = new TableFeed<LinkRecord>('links', source, (d, written) => {
      sent.push({ at: performance.now(), d });
      written();
    }, 1000); // long enough that a stalled machine does not let the hold run out between two steps
    const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
    source.upsert([link(1, { bytesSent: 1 })]);
    await turn();
    expect(sent.length).toBe(1);
    const t0 = performance.now();
    source.upsert([link(1, { bytesSent: 2 })]);
    await turn();
    expect(sent.length).toBe(1);
    source.upsert([link(2)]);
    await turn();
    expect(sent.length).toBe(2);
    expect(sent[1]!.d).toMatchObject({ kind: 'topology' });
    expect(sent[1]!.d.upsert.map((r) => r.id)).toEqual([link(2).id]);
    expect(sent[1]!.d.patch).toEqual([{ id: link(1).id, set: { bytesSent: 2 } }]);
    source.upsert([link(2, { bytesSent: 3 })]);
    for (let i = 0; i < 300 && sent.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sent[2]!.d).toMatchObject({ kind: 'figures' });
    expect(sent[2]!.at - t0).toBeGreaterThanOrEqual(500);
    feed.close();
  });

  it('sends a changed record as the fields that moved, and drops fields that went away', () => {
    const { source, feed, mirror, deliver } = pair([link(1, { rttMs: 0.5 })]);
    feed.reset();
    deliver();
    const { rttMs: _gone, ...rest } = link(1, { bytesSent: 11, connections: { active: 0, closed: 1, failed: 0 } });
    source.upsert([rest as LinkRecord]);
    feed.flushNow('figures');
    const [d] = deliver();
    expect(d!.patch).toEqual([{ id: link(1).id, set: { bytesSent: 11, connections: { active: 0, closed: 1, failed: 0 } }, unset: ['rttMs'] }]);
    expect(mirror.records()).toEqual(source.records());
    expect('rttMs' in mirror.records()[0]!).toBe(false);
  });

  it('keeps equal endpoints and counts once, shared by the records that hold them', () => {
    const { source, feed, mirror, deliver } = pair([link(1), link(2), link(3)]);
    feed.reset();
    deliver();
    const [a, b, c] = mirror.records();
    expect(a!.server).toBe(b!.server);
    expect(b!.server).toBe(c!.server);
    expect(a!.connections).toBe(c!.connections);
    expect(a!.client).not.toBe(b!.client);
    source.upsert([link(2, { connections: { active: 0, closed: 1, failed: 0 } }), link(3, { connections: { active: 0, closed: 1, failed: 0 }, server: { ...link(3).server, name: 'other' } })]);
    feed.flushNow('figures');
    deliver();
    const [, b2, c2] = mirror.records();
    expect(b2!.connections).toBe(c2!.connections);
    expect(b2!.connections).not.toBe(a!.connections);
    expect(c2!.server).not.toBe(a!.server);
    expect(b2!.server).toBe(a!.server);
    expect(mirror.records()).toEqual(source.records());
  });

  it('refuses a patch for a record it never had', () => {
    const mirror = new MirrorTable<LinkRecord>();
    expect(() => mirror.apply({ kind: 'figures', reset: false, last: true, upsert: [], patch: [{ id: 'nope', set: { bytesSent: 1 } }], remove: [] })).toThrow(/never sent/);
  });

  it('compares records as JSON values', () => {
    expect(sameJson(link(1), JSON.parse(JSON.stringify(link(1))))).toBe(true);
    expect(sameJson(link(1), link(1, { connections: { active: 1, closed: 1, failed: 0 } }))).toBe(false);
    expect(sameJson(link(1), { ...link(1), extra: 1 })).toBe(false);
    expect(sameJson([1, 2], { 0: 1, 1: 2 })).toBe(false);
  });
});
