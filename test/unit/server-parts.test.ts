import { describe, expect, it } from 'vitest';
import { tokensEqual } from '../../src/collector/server/auth.js';
import { TicketStore } from '../../src/collector/server/tickets.js';
import { OriginPolicy } from '../../src/collector/server/origins.js';
import { parseClientMessage, specKey } from '../../src/collector/server/validate.js';
import { carettaSeries, fnv32a } from '../../src/collector/server/caretta.js';
import { numericFacts } from '../../src/collector/server/server.js';
import { SharedView } from '../../src/collector/server/shared-view.js';
import { jsonElements } from '../../src/collector/server/json-elements.js';
import { PART_BYTES, jsonParts, jsonRuns, runTexts } from '../../src/collector/server/json-parts.js';
import { PartPool } from '../../src/collector/server/part-pool.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import { isOwnFlow, isOwnLink } from '../../src/collector/tables/self-filter.js';
import type { LinkRecord } from '../../src/protocol/index.js';
import { flow, link } from '../helpers/records.js';

describe('tokens, tickets and origins', () => {
  it('compares tokens of any length', () => {
    expect(tokensEqual('secret-token', 'secret-token')).toBe(true);
    expect(tokensEqual('secret-tokem', 'secret-token')).toBe(false);
    expect(tokensEqual('s', 'secret-token')).toBe(false);
  });

  it('redeems a ticket once, before it expires, from its origin only', () => {
    let now = 1000;
    const store = new TicketStore(30_000, () => now);
    const a = store.issue('https://g.test');
    expect(a.expiresAt).toBe(31_000);
    expect(store.redeem(a.ticket, 'https://g.test')).toEqual({ ok: true });
    expect(store.redeem(a.ticket, 'https://g.test')).toEqual({ ok: false, message: 'ticket unknown or already used' });
    const b = store.issue('https://g.test');
    expect(store.redeem(b.ticket, 'https://evil.test').ok).toBe(false);
    expect(store.redeem(b.ticket, 'https://g.test').ok).toBe(false);
    const c = store.issue('https://g.test');
    now += 30_001;
    expect(store.redeem(c.ticket, 'https://g.test')).toEqual({ ok: false, message: 'ticket expired' });
    expect(a.ticket).not.toBe(b.ticket);
  });

  it('caps outstanding tickets', () => {
    const store = new TicketStore(30_000, Date.now, 3);
    const first = store.issue('o');
    for (let i = 0; i < 5; i++) store.issue('o');
    expect(store.size()).toBe(3);
    expect(store.redeem(first.ticket, 'o').ok).toBe(false);
  });

  it('allows listed origins, ignoring case and a trailing slash, or any with *', () => {
    const p = new OriginPolicy(['https://Grafana.test/']);
    expect(p.allows('https://grafana.test')).toBe(true);
    expect(p.allows('https://grafana.test.evil')).toBe(false);
    expect(new OriginPolicy([]).allows('https://grafana.test')).toBe(false);
    expect(new OriginPolicy(['*']).allows('http://x')).toBe(true);
  });
});

describe('client message validation', () => {
  it('accepts each message type', () => {
    expect(parseClientMessage('{"type":"hello","protocol":1,"client":"c"}')).toEqual({ ok: true, msg: { type: 'hello', protocol: 1, client: 'c' } });
    expect(parseClientMessage('{"type":"subscribe","sub":"a","table":"links","aggregate":"pod","top":50,"filter":{"namespace":"shop","port":80}}')).toEqual({
      ok: true,
      msg: { type: 'subscribe', sub: 'a', table: 'links', aggregate: 'pod', top: 50, filter: { namespace: 'shop', port: 80 } },
    });
    expect(parseClientMessage('{"type":"query","id":"q","table":"flows","from":1,"to":2}')).toEqual({ ok: true, msg: { type: 'query', id: 'q', table: 'flows', from: 1, to: 2 } });
    expect(parseClientMessage('{"type":"values","id":"v","field":"namespace"}').ok).toBe(true);
    expect(parseClientMessage('{"type":"unsubscribe","sub":"a"}').ok).toBe(true);
    expect(parseClientMessage('{"type":"resync","sub":"a"}').ok).toBe(true);
    expect(parseClientMessage('{"type":"pong","t":3}')).toEqual({ ok: true, msg: { type: 'pong', t: 3 } });
  });

  it('names what is wrong', () => {
    const err = (text: string) => {
      const p = parseClientMessage(text);
      return p.ok ? 'ok' : `${p.code}: ${p.message}`;
    };
    expect(err('[1]')).toBe('malformed: message must be a JSON object');
    expect(err('{"t":1}')).toBe('malformed: message has no "type" string');
    expect(err('{"type":"x"}')).toMatch(/^unknown-type: unknown message type "x"/);
    expect(err('{"type":"hello","protocol":"1"}')).toBe('bad-request: hello: "protocol" must be an integer');
    expect(err('{"type":"subscribe","sub":"","table":"links"}')).toMatch(/"sub" must be a string/);
    expect(err('{"type":"subscribe","sub":"a","table":"links","aggregate":"galaxy"}')).toMatch(/"aggregate" must be one of endpoint, process/);
    expect(err('{"type":"subscribe","sub":"a","table":"links","top":-1}')).toMatch(/"top" must be an integer/);
    expect(err('{"type":"subscribe","sub":"a","table":"links","filter":{"port":70000}}')).toMatch(/filter "port" must be an integer from 0 to 65535/);
    expect(err('{"type":"query","id":"q","table":"links","from":5,"to":1}')).toMatch(/"from" must not be after "to"/);
    expect(err('{"type":"values","id":"v","field":"password"}')).toMatch(/"field" must be one of/);
  });

  it('keys equal specs equally, whatever the filter order', () => {
    expect(specKey({ table: 'links', filter: { port: 1, namespace: 'a' } })).toBe(specKey({ table: 'links', filter: { namespace: 'a', port: 1 }, aggregate: 'endpoint', top: 0 }));
    expect(specKey({ table: 'links', top: 5 })).not.toBe(specKey({ table: 'links', top: 6 }));
  });
});

const text = (parts: readonly Buffer[]): string => Buffer.concat(parts).toString();
const pool = new PartPool(PART_BYTES * 2, 1024 * 1024);

describe('shared view', () => {
  it('yields only changed records and removed ids, and nothing when nothing changed', () => {
    const table = new MemoryTable<LinkRecord>([link(1), link(2)]);
    const view = new SharedView('k', { table: 'links' }, table, 1, pool);
    expect(text(view.snapshot().parts)).toMatch(/^"table":"links","records":\[\{"id":"l000001".*\},\{"id":"l000002".*\}\],"time":1\}$/);
    expect(view.refresh(2)).toBeUndefined();
    table.upsert([{ ...link(2), bytesSent: 7 }]);
    table.remove(['l000001']);
    const tail = JSON.parse(`{${text(view.refresh(3)!.parts)}`);
    expect(tail.upsert.map((r: LinkRecord) => [r.id, r.bytesSent])).toEqual([['l000002', 7]]);
    expect(tail.remove).toEqual(['l000001']);
    expect(JSON.parse(`{${text(view.snapshot().parts)}`).records.map((r: LinkRecord) => r.id)).toEqual(['l000002']);
  });

  it('splits a new view per record at its first refresh, whatever its strings hold', () => {
    const odd = ['a"b', 'c\\', '{x,y}', '[1,2]', 'é,日本', '\\"', ',', ''];
    const table = new MemoryTable<LinkRecord>(odd.map((name, i) => link(i, { client: { ip: `10.0.0.${i}`, name } })));
    const view = new SharedView('k', { table: 'links' }, table, 1, pool);
    expect(view.size()).toBe(odd.length);
    expect(view.refresh(2)).toBeUndefined();
    table.upsert([link(3, { client: { ip: '10.0.0.3', name: odd[3] }, bytesSent: 1 })]);
    const tail = JSON.parse(`{${text(view.refresh(3)!.parts)}`);
    expect(tail.upsert.map((r: LinkRecord) => r.id)).toEqual(['l000003']);
    expect(JSON.parse(`{${text(view.snapshot().parts)}`).records).toEqual(JSON.parse(JSON.stringify(table.records().map((r) => ({ ...r, client: { ...r.client, id: `ip:${r.client.ip}` }, server: { ...r.server, id: `ip:${r.server.netns}/${r.server.ip}` } })))));
  });

  it('cuts a run of JSON values into the texts of its values', () => {
    const values: unknown[] = [{ a: 'x"}', b: [1, { c: '],[' }] }, 'str,"', 7, null, [], {}, ['\\'], { d: '\\"{' }, 'ü日'];
    expect(jsonElements(JSON.stringify(values).slice(1, -1))).toEqual(values.map((v) => JSON.stringify(v)));
    expect(jsonElements('')).toEqual([]);
    expect(jsonElements('{"a":1}')).toEqual(['{"a":1}']);
  });

  it('encodes a JSON list into parts, multi-byte characters and empty lists included', () => {
    const items = ['{"name":"café"}', '"日本"', '1'];
    expect(text(jsonParts('{"a":[', items, ']}', pool))).toBe(`{"a":[${items.join(',')}]}`);
    expect(text(jsonParts('{"a":[', new Map([['x', '"ü"']]), '],"b":"é"}', pool))).toBe('{"a":["ü"],"b":"é"}');
    expect(jsonParts('[', [], ']', pool).map(String)).toEqual(['[]']);
  });

  it('keeps each part of a long list within PART_BYTES, unless one item alone is longer', () => {
    const items = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, s: 'é'.repeat(i % 97) }));
    const parts = jsonParts('[', items, ']', pool);
    expect(parts.length).toBeGreaterThan(3);
    expect(Math.max(...parts.map((p) => p.length))).toBeLessThanOrEqual(PART_BYTES);
    expect(text(parts)).toBe(`[${items.join(',')}]`);
    const huge = `"${'x'.repeat(PART_BYTES * 2)}"`;
    expect(text(jsonParts('[', ['1', huge, '2'], ']', pool))).toBe(`[1,${huge},2]`);
  });

  it('serialises records a run at a time into parts, each run sized to a part by the records before it', () => {
    const records = Array.from({ length: 5000 }, (_, i) => (i < 2500 ? link(i, { client: { ip: '10.0.0.1', name: `é${i}` } }) : { id: `x${i}`, pad: 'z'.repeat(5000) }));
    const { parts, runs } = jsonRuns('{"r":', records, ',"t":1}', pool);
    expect(text(parts)).toBe(`{"r":${JSON.stringify(records)},"t":1}`);
    // Only the runs where the records grow, sized by the small ones before them, may be longer.
    expect(parts.filter((p) => p.length > PART_BYTES * 1.1).length).toBeLessThanOrEqual(2);
    expect(parts.length).toBeGreaterThan((2500 * 5000) / PART_BYTES);
    expect(runTexts(runs).flatMap(jsonElements)).toEqual(records.map((r) => JSON.stringify(r)));
    expect(runTexts(jsonRuns('[', [{ id: 'é' }], ']', pool).runs).flatMap(jsonElements)).toEqual(['{"id":"é"}']);
    expect(text(jsonRuns('{"r":', [], ',"t":1}', pool).parts)).toBe('{"r":[],"t":1}');
    expect(text(jsonRuns('{"r":', [{ id: 1 }], ',"t":1}', pool).parts)).toBe('{"r":[{"id":1}],"t":1}');
  });
});

describe('part pool', () => {
  it('hands out pooled memory for parts that fit, and keeps back only what it handed out, once, up to its bound', () => {
    const pool = new PartPool(1024, 3 * 1024);
    const a = pool.take(100);
    const b = pool.take(1024);
    const own = pool.take(1025);
    expect([a.length, b.length, own.length]).toEqual([100, 1024, 1025]);
    pool.give([a, b, own, Buffer.from('not the pool\'s'), a]);
    expect(pool.idleBytes()).toBe(2 * 1024);
    // Pooled memory comes back out, a piece at a time, and never to two holders at once.
    const c = pool.take(10);
    const d = pool.take(10);
    expect(new Set([c.buffer, d.buffer])).toEqual(new Set([a.buffer, b.buffer]));
    expect(pool.take(10).buffer).not.toBe(c.buffer);
    pool.give([c, d, pool.take(5), pool.take(5)]);
    expect(pool.idleBytes()).toBe(3 * 1024);
  });

  it('gets parts back only when the creator and every holder have let go, each counted once', () => {
    const pool = new PartPool(1024, 1024 * 1024);
    const held = pool.held([pool.take(8), pool.take(8)]);
    const first = held.hold();
    const second = held.hold();
    held.release();
    held.release();
    first();
    first();
    expect(pool.idleBytes()).toBe(0);
    second();
    expect(pool.idleBytes()).toBe(2 * 1024);
  });

  it('gives a view its snapshot parts back once it changes or closes, not while a socket holds them', () => {
    const pool = new PartPool(PART_BYTES * 2, 64 * 1024 * 1024);
    const table = new MemoryTable<LinkRecord>(Array.from({ length: 500 }, (_, i) => link(i)));
    const view = new SharedView('k', { table: 'links' }, table, 1, pool);
    const first = view.snapshot();
    const socket = first.hold();
    const sent = text(first.parts);
    table.upsert([{ ...link(1), bytesSent: 5 }]);
    // The delta's one part comes back at once; the first snapshot stays with the socket.
    view.refresh(2)!.release();
    expect(pool.idleBytes()).toBe(PART_BYTES * 2);
    const next = view.snapshot();
    expect(next.parts.length).toBeGreaterThan(5);
    // What the socket still writes is untouched by what the view built next from the pool.
    expect(text(first.parts)).toBe(sent);
    expect(JSON.parse(`{${text(next.parts)}`).records[1].bytesSent).toBe(5);
    // The first snapshot's runs were pooled (its head and tail were not); the next one's parts all were.
    socket();
    expect(pool.idleBytes()).toBe((first.parts.length - 2) * PART_BYTES * 2);
    view.close();
    expect(pool.idleBytes()).toBe((first.parts.length - 2 + next.parts.length) * PART_BYTES * 2);
  });
});

describe('Caretta series', () => {
  it('hashes with FNV-1a 32 as Caretta does', () => {
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
  });

  it('labels a link by names, namespaces, port and role, valued in bytes both ways', () => {
    const r = link(1, { client: { ip: '10.0.0.1', pod: 'cart-1', name: 'cart', namespace: 'shop', kind: 'pod', pid: 3 }, server: { ip: '10.0.0.2', port: 6379, name: 'redis', namespace: 'db', kind: 'pod' } });
    const s = carettaSeries(r);
    expect(s.value).toBe(r.bytesSent + r.bytesReceived);
    expect(s.labels).toEqual({
      link_id: String((fnv32a('cartshopredisdb') + 1) >>> 0),
      client_id: String(fnv32a('cartshop')),
      client_name: 'cart',
      client_namespace: 'shop',
      client_kind: 'pod',
      server_id: String(fnv32a('redisdb')),
      server_name: 'redis',
      server_namespace: 'db',
      server_kind: 'pod',
      server_port: '6379',
      role: '1',
    });
    expect(carettaSeries(link(2, { client: { ip: '192.0.2.1' } })).labels).toMatchObject({ client_name: '192.0.2.1', client_kind: 'unknown', role: '2' });
  });
});

describe('self exclusion and health facts', () => {
  it('recognises the collector’s own links and flows', () => {
    const mine = link(1, { server: { ip: '127.0.0.1', port: 7317, pid: 99 } });
    expect(isOwnLink(mine, 7317, 99)).toBe(true);
    expect(isOwnLink(link(1, { server: { ip: '10.0.0.1', port: 7317, pid: 5 } }), 7317, 99)).toBe(false);
    expect(isOwnLink(link(1, { client: { ip: '10.0.0.1', pid: 99 } }), 7317, 99)).toBe(true);
    expect(isOwnFlow(flow(1, { dstPort: 7317 }), 7317)).toBe(true);
    expect(isOwnFlow(flow(1), 7317)).toBe(false);
  });

  it('flattens numbers and booleans of a health report', () => {
    expect(numericFacts({ mapFill: { ratio: 0.5, entries: 3 }, ok: true, errors: ['x'], name: 'n' })).toEqual({ mapFill_ratio: 0.5, mapFill_entries: 3, ok: 1 });
  });
});
