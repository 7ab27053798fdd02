// Building Node Graph frames from 10,000 links: per aggregation level, folded to ≤ 200 nodes.
// Target: ≤ 50 ms per build. Prints the median and p95 of each case and how they compare.
import { performance } from 'node:perf_hooks';
import type { LinkRecord } from '../../src/protocol/index.js';
import { frameSignature, linksToGraph } from '../../src/plugin/frames/index.js';

const LINKS = 10_000;
const RUNS = 40;

/** 10,000 links among 2,000 endpoints in 40 namespaces on 8 nodes; sizes spread over four decades. */
function makeLinks(): LinkRecord[] {
  const endpoint = (i: number, port?: number) => ({
    ip: `10.${61 + (i % 4)}.${Math.floor(i / 250) % 250}.${i % 250}`,
    port,
    netns: `ns${i % 300}`,
    pid: 1000 + i,
    process: `proc${i % 700}`,
    pod: `pod-${i}`,
    namespace: `team${i % 40}`,
    workload: `app${i % 400}`,
    workloadKind: 'Deployment',
    node: `node${i % 8}`,
    kind: 'pod' as const,
  });
  return Array.from({ length: LINKS }, (_, i) => {
    const c = (i * 7919) % 2000;
    const s = (i * 104729 + 13) % 2000;
    const bytes = 10 ** (1 + (i % 4)) + i;
    return {
      id: `link-${i}`,
      client: endpoint(c),
      server: endpoint(s === c ? (s + 1) % 2000 : s, 80 + (i % 20)),
      protocol: 'tcp',
      bytesSent: bytes,
      bytesReceived: bytes * 3,
      sendRate: bytes / 60,
      receiveRate: bytes / 20,
      connections: { active: i % 3, closed: i % 5, failed: i % 17 === 0 ? 1 : 0 },
      rttMs: 0.1 + (i % 50) / 10,
      retransmits: i % 23 === 0 ? 2 : 0,
      firstSeen: 1_700_000_000_000,
      lastSeen: 1_700_000_060_000 + i,
    };
  });
}

function measure(fn: () => void): { median: number; p95: number } {
  for (let i = 0; i < 5; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(RUNS / 2)]!, p95: times[Math.floor(RUNS * 0.95)]! };
}

const links = makeLinks();
const results: { name: string; nodes: number; edges: number; median: number; p95: number }[] = [];
for (const level of ['endpoint', 'process', 'workload', 'namespace'] as const) {
  const opts = { refId: 'A', level, mainstat: 'throughput' as const };
  const g = linksToGraph(links, opts);
  const t = measure(() => linksToGraph(links, opts));
  results.push({ name: `linksToGraph level=${level}`, nodes: g.nodes.length, edges: g.edges.length, ...t });
}
// The collector's snapshots come sorted by id: the sort is skipped.
const sorted = [...links].sort((x, y) => (x.id < y.id ? -1 : 1));
const sortedOpts = { refId: 'A', level: 'endpoint' as const, mainstat: 'throughput' as const };
const gs = linksToGraph(sorted, sortedOpts);
results.push({ name: 'linksToGraph level=endpoint, sorted', nodes: gs.nodes.length, edges: gs.edges.length, ...measure(() => linksToGraph(sorted, sortedOpts)) });
const g = linksToGraph(links, { refId: 'A', level: 'endpoint', mainstat: 'throughput' });
const sig = measure(() => frameSignature([g.nodes, g.edges]));
results.push({ name: 'frameSignature (endpoint frames)', nodes: g.nodes.length, edges: g.edges.length, ...sig });

console.log(`frames: ${LINKS} links, ${RUNS} runs each, target ≤ 50 ms per build`);
for (const r of results) {
  console.log(`  ${r.name.padEnd(38)} nodes ${String(r.nodes).padStart(3)}  edges ${String(r.edges).padStart(5)}  median ${r.median.toFixed(2)} ms  p95 ${r.p95.toFixed(2)} ms`);
}
const worst = Math.max(...results.filter((r) => r.name.startsWith('linksToGraph')).map((r) => r.p95));
const base = results[0]!.median;
console.log(`  ratios to level=endpoint median: ${results.slice(1).map((r) => `${r.name} ${(r.median / base).toFixed(2)}×`).join('; ')}`);
console.log(`  worst p95 ${worst.toFixed(2)} ms = ${(worst / 50).toFixed(2)} × the 50 ms target${worst <= 50 ? ' (met)' : ' (MISSED)'}`);
if (results.some((r) => r.nodes > 200)) {
  console.error('frames: more than 200 nodes emitted');
  process.exit(1);
}
