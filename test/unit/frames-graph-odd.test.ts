// linksToGraph over generated odd records: names with the characters ids are built from (">", ":",
// "/"), empty or missing optional fields, zero figures. Whatever comes in, the frames must be what
// the Node Graph panel needs: unique node and edge ids, every edge endpoint a node, arcs that are
// finite shares summing to 1, and every field as long as its frame.
import { describe, expect, it } from 'vitest';
import type { DataFrame } from '@grafana/data';
import { AGGREGATION_LEVELS, endpointId, type Endpoint, type LinkRecord } from '../../src/protocol/index.js';
import { linksToGraph } from '../../src/plugin/frames/index.js';
import type { MainStat } from '../../src/plugin/types.js';
import { link } from './frames-fixtures.js';

/** A small seeded generator (mulberry32), so a failure names the seed that reproduces it. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}

const ODD = ['', 'a', 'b', 'a>b', 'b>process:n/c', 'a>process:n/b', 'c', 'x:y', 'n/a', '>', ':', '/', ' ', 'other', '💥', 'ä b', '__proto__', 'ip:n/10.0.0.1'];
const KINDS = ['pod', 'service', 'process', 'netns', 'container', 'node', 'external', 'unknown'] as const;

function endpoint(r: ReturnType<typeof rng>, server: boolean): Endpoint {
  const maybe = <T>(v: () => T): T | undefined => (r.next() < 0.5 ? v() : undefined);
  const e: Endpoint = { ip: r.pick(['10.9.0.1', '10.9.0.2', 'fd00::1', '10.9.0.3']) };
  const set = <K extends keyof Endpoint>(k: K, v: Endpoint[K] | undefined) => v !== undefined && (e[k] = v);
  set('port', server ? maybe(() => r.pick([0, 80, 443, 65535])) : undefined);
  set('netns', maybe(() => r.pick(['n', ...ODD])));
  set('pid', maybe(() => r.int(5)));
  set('process', maybe(() => r.pick(ODD)));
  set('pod', maybe(() => r.pick(ODD)));
  set('workload', maybe(() => r.pick(ODD)));
  set('workloadKind', maybe(() => r.pick(['Deployment', ...ODD])));
  set('namespace', maybe(() => r.pick(ODD)));
  set('node', maybe(() => r.pick(ODD)));
  set('dns', maybe(() => r.pick(ODD)));
  set('name', maybe(() => r.pick(ODD)));
  set('kind', maybe(() => r.pick(KINDS)));
  return e;
}

function records(r: ReturnType<typeof rng>): LinkRecord[] {
  return Array.from({ length: 1 + r.int(40) }, (_, i) => {
    const zero = r.next() < 0.3;
    const n = () => (zero ? 0 : r.int(1000));
    return link(`r${i}`, endpoint(r, false), endpoint(r, true), {
      protocol: r.pick(['tcp', 'udp'] as const),
      bytesSent: n(),
      bytesReceived: n(),
      sendRate: zero ? 0 : r.next() * 100,
      receiveRate: zero ? 0 : r.next() * 100,
      connections: { active: n() % 4, closed: n() % 4, failed: n() % 4 },
      retransmits: n() % 3,
      ...(r.next() < 0.5 ? { rttMs: r.next() * 10 } : {}),
    });
  });
}

const values = (f: DataFrame, name: string) => f.fields.find((x) => x.name === name)!.values as unknown[];
const unique = (xs: unknown[]) => new Set(xs).size === xs.length;

function check(rs: LinkRecord[], level: (typeof AGGREGATION_LEVELS)[number], mainstat: MainStat, maxNodes: number): void {
  const { nodes, edges } = linksToGraph(rs, { refId: 'A', level, mainstat, maxNodes });
  for (const f of [nodes, edges]) {
    for (const x of f.fields) expect(x.values.length, `${f.name}.${x.name}`).toBe(f.length);
  }
  const ids = values(nodes, 'id');
  expect(unique(ids), 'node ids unique').toBe(true);
  expect(unique(values(edges, 'id')), 'edge ids unique').toBe(true);
  expect(nodes.length).toBeLessThanOrEqual(maxNodes);
  const known = new Set(ids);
  const source = values(edges, 'source');
  const target = values(edges, 'target');
  source.forEach((s, i) => {
    expect(known.has(s) && known.has(target[i]), 'edge endpoints are nodes').toBe(true);
    expect(s).not.toBe(target[i]);
  });
  // One edge per drawn pair: two edges for the same pair would be drawn on top of each other.
  expect(unique(source.map((s, i) => JSON.stringify([s, target[i]]))), 'one edge per pair').toBe(true);
  for (const t of values(nodes, 'title')) expect(typeof t === 'string' && t.length > 0, 'title').toBe(true);
  for (const t of values(nodes, 'subtitle')) expect(typeof t).toBe('string');
  const arcs = nodes.fields.filter((x) => x.name.startsWith('arc__'));
  for (let i = 0; i < nodes.length; i++) {
    const shares = arcs.map((a) => a.values[i] as number);
    for (const s of shares) expect(Number.isFinite(s) && s >= 0 && s <= 1, 'arc share').toBe(true);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  }
  for (const f of [nodes, edges]) {
    for (const x of f.fields.filter((y) => y.type === 'number')) {
      for (const v of x.values) expect(v === null || Number.isFinite(v), `${f.name}.${x.name} finite`).toBe(true);
    }
  }
  for (const t of values(edges, 'thickness')) expect((t as number) >= 1).toBe(true);
}

/** With no folding, each record whose ends are two nodes has the edge of exactly that pair. */
function checkPairs(rs: LinkRecord[], level: (typeof AGGREGATION_LEVELS)[number]): void {
  const { edges } = linksToGraph(rs, { refId: 'A', level, mainstat: 'bytes', maxNodes: 10_000 });
  const source = values(edges, 'source');
  const target = values(edges, 'target');
  const drawn = source.map((s, i) => JSON.stringify([s, target[i]])).sort();
  const wanted = [...new Set(rs.map((r) => JSON.stringify([endpointId(r.client, level), endpointId(r.server, level)])))]
    .filter((p) => JSON.parse(p)[0] !== JSON.parse(p)[1])
    .sort();
  expect(drawn).toEqual(wanted);
}

describe('linksToGraph with odd records', () => {
  it('keeps two pairs apart whose ids joined with ">" read the same (a process may be named "b>process:n/c")', () => {
    const rs = [
      link('r1', { ip: '10.9.0.1', netns: 'n', process: 'a' }, { ip: '10.9.0.2', netns: 'n', process: 'b>process:n/c' }, { bytesSent: 5 }),
      link('r2', { ip: '10.9.0.3', netns: 'n', process: 'a>process:n/b' }, { ip: '10.9.0.4', netns: 'n', process: 'c' }, { bytesSent: 7 }),
    ];
    check(rs, 'process', 'bytes', 200);
    checkPairs(rs, 'process');
    const { edges } = linksToGraph(rs, { refId: 'A', level: 'process', mainstat: 'bytes' });
    expect(values(edges, 'detail__bytes_sent')).toEqual([5, 7]);
  });

  it('draws the edge of every pair for 300 generated record sets', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const level = AGGREGATION_LEVELS[seed % AGGREGATION_LEVELS.length]!;
      try {
        checkPairs(records(rng(seed)), level);
      } catch (e) {
        throw new Error(`seed ${seed} (${level}): ${(e as Error).message}`);
      }
    }
  });

  it('meets the Node Graph frame rules for 300 generated record sets at every level and stat', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const rs = records(r);
      const level = AGGREGATION_LEVELS[seed % AGGREGATION_LEVELS.length]!;
      const mainstat = (['throughput', 'bytes', 'connections', 'rtt'] as const)[seed % 4]!;
      try {
        check(rs, level, mainstat, 2 + r.int(30));
      } catch (e) {
        throw new Error(`seed ${seed} (${level}, ${mainstat}): ${(e as Error).message}`);
      }
    }
  });
});
