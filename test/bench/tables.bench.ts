// The link table and the flow table on their own, in this process, at 100,000 entries all changing
// every round: what each keeps (heap after a full collection, against the heap before it was
// made) and what a round costs (the median over the rounds). The link table is fed what a poll of
// 100,000 open connections gives, a thousand views at a time (making them is in its time, as
// decoding is in a poll's); the flow table a drain of 100,000 flows. Each without a resolver,
// then named by the one kernel-tables creates (in this process; the connections belong to real
// processes of the machine, whose /proc entries it reads). The collector's memory as a whole,
// with its processes and history, is privsep.bench.ts.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';
import { LinkTableState } from '../../src/collector/tables/links.js';
import { FlowStore } from '../../src/collector/tables/flows.js';
import type { ConnView } from '../../src/collector/kernel/links-records.js';
import { openConnection as view } from '../helpers/bench-conns.mjs';
import type { FlowSample } from '../../src/collector/kernel/flows-layout.js';
import { createResolver } from '../../src/collector/resolve/resolver.js';
import type { Resolver } from '../../src/collector/resolve/types.js';

const N = 100_000;
const ROUNDS = 15;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMB = (): number => {
  gc();
  gc();
  return getHeapStatistics().used_heap_size / 1024 / 1024;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = (f: () => void): number => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
const ip = (net: number, n: number): string => [10, net + (n >> 16), (n >> 8) & 255, n & 255].join('.');

/** Flow n of a drain: its packets since the last one. */
function sample(n: number, round: number): FlowSample {
  return {
    src: ip(41, n),
    dst: '10.40.0.1',
    srcPort: 30_000 + (n % 30_000),
    dstPort: 443,
    proto: 6,
    ifindex: 2,
    netnsInode: 4026531840,
    direction: 'egress',
    packets: 2,
    bytes: 200 + round,
    payloadBytes: 100,
    firstNs: 1e9 + round * 1e9,
    lastNs: 1e9 + round * 1e9 + 5e8,
    tcpFlags: 0x18,
  };
}

interface Cost {
  keptMB: number;
  updateMs: number;
  readMs: number;
  /** The slowest read: names are looked up again once they are 5 s old. */
  readMaxMs: number;
}

function links(resolver?: Resolver): Cost {
  const before = heapMB();
  const table = new LinkTableState({ monoToEpochMs: (ns) => 1_700_000_000_000 + Number(ns / 1_000_000n), ...(resolver ? { resolver } : {}) });
  const update: number[] = [];
  const read: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    function* poll(): Generator<ConnView[]> {
      for (let i = 0; i < N; i += 1000) yield Array.from({ length: 1000 }, (_, k) => view(i + k, round));
    }
    update.push(time(() => table.updateLiveChunks(poll(), 1_700_000_000_000 + round * 1000)));
    read.push(time(() => table.records()));
  }
  const keptMB = heapMB() - before;
  if (table.size() !== N) throw new Error(`links: ${table.size()} links, expected ${N}`);
  return { keptMB, updateMs: median(update.slice(2)), readMs: median(read.slice(2)), readMaxMs: Math.max(...read.slice(2)) };
}

function flows(resolver?: Resolver): Cost {
  const before = heapMB();
  const iface = { name: 'eth0', closeness: 1 };
  const store = new FlowStore({ idleTimeoutMs: 30_000, historyMs: 300_000, toEpochMs: (ns) => 1_700_000_000_000 + ns / 1e6, lookupInterface: () => iface, ...(resolver ? { resolver } : {}) });
  const update: number[] = [];
  const read: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const drain = Array.from({ length: N }, (_, n) => sample(n, round));
    update.push(time(() => store.ingest(drain, 1_700_000_001_000 + round * 1000)));
    read.push(time(() => store.records()));
  }
  const keptMB = heapMB() - before;
  if (store.size() !== N) throw new Error(`flows: ${store.size()} flows, expected ${N}`);
  return { keptMB, updateMs: median(update.slice(2)), readMs: median(read.slice(2)), readMaxMs: Math.max(...read.slice(2)) };
}

const perEntry = (mb: number): string => `${((mb * 1024 * 1024) / N).toFixed(0)} B each`;
const line = (what: string, c: Cost, update: string): string =>
  `  ${what}: keeps ${c.keptMB.toFixed(1)} MB (${perEntry(c.keptMB)}); ${update} ${c.updateMs.toFixed(0)} ms, a read of the records ${c.readMs.toFixed(0)} ms (slowest ${c.readMaxMs.toFixed(0)} ms)`;
console.log(`tables at ${N.toLocaleString('en')} entries, all changing each round (${ROUNDS} rounds, medians after 2 warm-up rounds):`);
console.log(line('links', links(), 'a poll'));
console.log(line('flows', flows(), 'a drain'));
const resolver = createResolver({ kubernetes: false, log: () => undefined });
await resolver.ready();
// Made before the tables are measured: only what it learns during their rounds counts in theirs.
console.log(line('links, named', links(resolver), 'a poll'));
console.log(line('flows, named', flows(resolver), 'a drain'));
resolver.close();
