// The link table read one record at a time (walk): what the privileged parent's feed reads, so
// that it holds no record objects. It must read as records() does, and stay right while the table
// moves under a walk that waits for the channel.
import { describe, expect, it } from 'vitest';
import { LinkTableState } from '../../src/collector/tables/links.js';
import { MirrorTable } from '../../src/collector/privsep/mirror-table.js';
import { CHUNK, TableFeed } from '../../src/collector/privsep/table-feed.js';
import type { TableDelta } from '../../src/collector/privsep/messages.js';
import type { RecordWalk } from '../../src/collector/tables/types.js';
import type { LinkRecord } from '../../src/protocol/index.js';
import type { ConnView } from '../../src/collector/kernel/links-records.js';
import { closed, view } from '../helpers/links-views.js';

const table = (): LinkTableState => new LinkTableState({ monoToEpochMs: (ns) => Number(ns / 1_000_000n), idleTimeoutMs: 1000 });
const all = (w: RecordWalk<LinkRecord>): (LinkRecord | undefined)[] => Array.from({ length: w.size }, (_, i) => w.at(i));

/** n connections, each to its own server port (its own link). */
const conns = (n: number, from = 0): ConnView[] => Array.from({ length: n }, (_, i) => view({ remotePort: 1000 + from + i, bytesSent: i, bytesReceived: 2 * i, srttUs: 100 + i }));

describe('link table walk', () => {
  it('reads the records records() hands out, each built as read and none kept', () => {
    const walked = table();
    const listed = table();
    const views = conns(5);
    const feed = (t: LinkTableState, ms: number): void => {
      t.updateLive(views, ms);
      if (ms === 2000) t.addClosed([closed(views[1]!)], ms);
    };
    for (const ms of [1000, 2000, 3000]) {
      feed(walked, ms);
      feed(listed, ms);
      const w = walked.walk();
      expect(all(w)).toEqual(listed.records());
      expect(Array.from({ length: w.size }, (_, i) => w.id(i))).toEqual(listed.records().map((r) => r.id));
      expect(w.at(0)).not.toBe(w.at(0));
      for (const v of views) v.bytesSent += 7;
    }
    // Once records() has handed them out, a walk reads those same objects.
    const held = walked.records();
    expect(walked.walk().at(0)).toBe(held[0]);
  });

  it('reads a link that left after the walk was taken as undefined', () => {
    const t = table();
    const views = conns(3);
    t.updateLive(views, 1000);
    const w = t.walk();
    const ids = all(w).map((r) => r!.id);
    t.addClosed([closed(views[1]!)], 1000);
    t.updateLive([views[0]!, views[2]!], 1000);
    t.expire(5000);
    expect(w.size).toBe(3);
    expect(w.at(1)).toBeUndefined();
    expect(w.id(1)).toBe(ids[1]);
    expect(all(w).map((r) => r?.id)).toEqual([ids[0], undefined, ids[2]]);
  });

  it('feeds a mirror that matches the table while links come and go under a walk waiting for the channel', () => {
    const t = table();
    let views = conns(CHUNK * 6 + 10);
    t.updateLive(views, 1000);
    const mirror = new MirrorTable<LinkRecord>();
    const taken: (() => void)[] = [];
    const feed = new TableFeed<LinkRecord>('links', t, (d, written) => {
      // Serialised when the channel takes it, as process.send does.
      mirror.apply(JSON.parse(JSON.stringify(d)) as TableDelta);
      taken.push(written);
    }, 0, 1);
    const drain = (): void => {
      while (taken.length > 0) taken.shift()!();
    };
    let port = CHUNK * 7;
    /** While a walk waits for the channel: links close and leave across every chunk, new ones come. */
    const churn = (): void => {
      const leaving = views.filter((_, i) => i % 97 === 5);
      t.addClosed(leaving.map((v) => closed(v)), 1000);
      views = [...views.filter((v) => !leaving.includes(v)), ...conns(30, (port += 30))];
      for (const v of views) v.bytesSent += 3;
      t.updateLive(views, 1000);
      t.expire(5000);
    };
    const figures = (): void => {
      for (const v of views) v.bytesSent += 1;
      t.updateLive(views, 1000);
      feed.flushNow('figures');
    };
    // A reset (nothing sent yet), then a figures delta (every record sent before).
    for (const start of [() => feed.reset(), figures]) {
      start();
      expect(taken).toHaveLength(1);
      churn();
      drain();
      feed.flushNow('topology');
      drain();
      expect(mirror.records()).toEqual(all(t.walk()));
      expect(mirror.size()).toBe(views.length);
    }
    feed.close();
  });
});

