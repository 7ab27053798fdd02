// The pure parts of privilege separation: who the server runs as, what /proc says about a
// process, and the table mirror (the parent's deltas rebuild the table exactly on the other side).
import { describe, expect, it } from 'vitest';
import { MirrorTable } from '../../src/collector/privsep/mirror-table.js';
import { noCapabilities, parseStatus } from '../../src/collector/privsep/process-status.js';
import { setprivArgs } from '../../src/collector/privsep/supervisor.js';
import { TableFeed } from '../../src/collector/privsep/table-feed.js';
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

  it('rebuilds the table from a reset and then only what changed', () => {
    const source = new MemoryTable<LinkRecord>([link(1), link(2), link(3)]);
    const sent: TableDelta[] = [];
    const feed = new TableFeed<LinkRecord>('links', source, (d) => sent.push(wire(d)));
    const mirror = new MirrorTable<LinkRecord>();
    const kinds: ChangeKind[] = [];
    mirror.onChange((k) => kinds.push(k));
    feed.reset();
    mirror.apply(sent[0]!);
    expect(mirror.records()).toEqual(source.records());

    source.upsert([link(2, { bytesSent: 5 })]);
    const figures = feed.delta('figures')!;
    expect(figures.upsert.map((r) => r.id)).toEqual([link(2).id]);
    expect(figures.remove).toEqual([]);
    mirror.apply(wire(figures));

    source.remove([link(1).id]);
    source.upsert([link(4)]);
    const topology = feed.delta('topology')!;
    expect(topology.upsert.map((r) => r.id)).toEqual([link(4).id]);
    expect(topology.remove).toEqual([link(1).id]);
    mirror.apply(wire(topology));

    expect(mirror.records()).toEqual(source.records());
    expect(mirror.size()).toBe(3);
    expect(kinds).toEqual(['topology', 'figures', 'topology']);
    expect(feed.delta('figures')).toBeUndefined();
    feed.close();
  });

  it('sends changes that come together as one message, topology if any was', async () => {
    const source = new MemoryTable<LinkRecord>([link(1)]);
    const sent: TableDelta[] = [];
    const feed = new TableFeed<LinkRecord>('links', source, (d) => sent.push(wire(d)));
    feed.reset();
    source.upsert([link(1, { bytesSent: 7 })]);
    source.upsert([link(2)]);
    source.upsert([link(2, { bytesSent: 9 })]);
    await new Promise((r) => setImmediate(r));
    expect(sent.length).toBe(2);
    expect(sent[1]).toMatchObject({ kind: 'topology', reset: false, remove: [] });
    expect(sent[1]!.upsert.map((r) => [r.id, (r as LinkRecord).bytesSent])).toEqual([
      [link(1).id, 7],
      [link(2).id, 9],
    ]);
    feed.close();
  });
});
