// `weft-collector` as it runs in production: main() from the compiled lib/ (no TypeScript loader
// in either process, so the server process it starts is lib/'s server-child.js under the same
// node flags), privilege separation on unless --no-privsep is passed, over the kernel tables' own
// link table (LinkTableState in CombinedLinks, as lib/collector/tables/kernel-tables.js builds it)
// fed each round what a read of the kernel's map gives: BENCH_LINKS open connections, each its own
// link, as decoded views, named by the resolver kernel-tables creates (createResolver with NAT from
// conntrack; with privilege separation its own process, lib/'s resolver-child.js as the same
// unprivileged user; no cluster here, so no informers). Plain JavaScript so that nothing but the
// collector's own code is loaded. Commands on stdin, one JSON answer per line:
//   add N           a new link (a connection to server port 9999) appears; answers with its id
//   churn           every link changes
//   rounds N MS     every link changes N times, MS apart; answers with the memory seen meanwhile
//                   (the sample with the highest RSS total, and the one with the highest PSS total)
//   cpu             CPU milliseconds used so far by this process and by its server and resolver processes, if any
//   stats           memory of this process and of its server and resolver processes, if any
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { main } from '../../lib/collector/main.js';
import { MemoryTable } from '../../lib/collector/tables/memory-table.js';
import { LinkTableState } from '../../lib/collector/tables/links.js';
import { CombinedLinks } from '../../lib/collector/tables/combined-links.js';
import { createResolver } from '../../lib/collector/resolve/resolver.js';
import { trimMallocEvery } from '../../lib/collector/malloc-trim.js';
import { openConnection as view } from './bench-conns.mjs';
// Loaded, not run: the parent carries the code lib/collector/cli.js loads to open the kernel's tables.
import '../../lib/collector/tables/kernel-tables.js';

const N = Number(process.env.BENCH_LINKS ?? 100_000);
const FEATURES = { kernelRelease: 'bench', btf: true, ringbuf: true, tcx: true, bpfStats: false, tracepoints: { 'sock:inet_sock_set_state': true }, kprobes: false };

const flows = new MemoryTable();
let resolver;
let tcp;
/** Connections added by `add`, on top of the N every round reads. */
const added = [];
let round = 0;
/** The views of one read of the kernel's map, made a thousand at a time as the link collector decodes them. */
function* read() {
  for (let i = 0; i < N; i += 1000) yield Array.from({ length: Math.min(1000, N - i) }, (_, k) => view(i + k, round));
  yield added.map((a) => view(a, round, 9999));
}
/** One poll, as the link collector runs it: a read of the whole map, then the idle check. */
function poll() {
  const now = Date.now();
  tcp.updateLiveChunks(read(), now);
  tcp.expire(now);
}

let url = '';
await main(process.argv, async (_config, privileges) => {
  resolver = createResolver({ nat: { netns: [undefined] }, ...(privileges.isolate ? { isolate: { user: privileges.isolate } } : {}), log: (l) => console.error(l) });
  await resolver.ready();
  tcp = new LinkTableState({ resolver, monoToEpochMs: (ns) => 1_700_000_000_000 + Number(ns / 1_000_000n) });
  const links = new CombinedLinks({ tcp, natOrigins: (ip, port, protocol) => resolver.natOrigins?.(ip, port, protocol) ?? [] });
  poll();
  // As kernel-tables does in the process that holds the tables.
  const stopTrimming = trimMallocEvery((l) => console.error(l));
  return {
    links,
    flows,
    features: FEATURES,
    health: {},
    close: () => {
      stopTrimming();
      resolver.close();
    },
  };
}, (line) => {
  url ||= /WebSocket (ws:\/\/[^\s,)]+)/.exec(line)?.[1] ?? '';
});
console.log(JSON.stringify({ url }));

const children = () => readdirSync('/proc/self/task').flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
/** The server process: its command line runs server-child.js (the resolver's may start helpers of its own). */
const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // ended meanwhile
  }
};
const server = () => children().find((pid) => cmdline(pid).includes('server-child'));
const kB = (text, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
const mb = (kb) => Math.round(kb / 102.4) / 10;
/** RSS now, its peak (VmHWM), and PSS: RSS with pages shared between processes (node's own code) split among them. */
function memory(pid) {
  if (pid === undefined) return { rssMB: 0, peakMB: 0, pssMB: 0 };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssMB: mb(kB(status, 'VmRSS')), peakMB: mb(kB(status, 'VmHWM')), pssMB: mb(kB(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss')) };
}
const sum = (xs) => Math.round(xs.reduce((a, b) => a + b, 0) * 10) / 10;
function stats() {
  const all = { parent: memory(process.pid), server: memory(server()), resolver: memory(resolver?.isolated?.pid()) };
  const ps = Object.values(all);
  return { ...all, totalMB: sum(ps.map((m) => m.rssMB)), totalPssMB: sum(ps.map((m) => m.pssMB)) };
}
/** utime + stime of a process, in milliseconds (clock ticks are 10 ms on Linux). */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

function churn() {
  round += 1;
  poll();
}

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg, arg2] = line.trim().split(/\s+/);
  if (cmd === 'add') {
    const n = N + Number(arg);
    added.push(n);
    poll();
    const ip = view(n, round).localIp;
    // Walked, not records(): the parent holds no records, as with the feed alone.
    const w = tcp.walk();
    let id;
    for (let i = 0; i < w.size && id === undefined; i++) if (w.at(i)?.client.ip === ip) id = w.id(i);
    console.log(JSON.stringify({ id }));
  } else if (cmd === 'churn') {
    churn();
    console.log('{}');
  } else if (cmd === 'rounds') {
    // The highest totals seen, sampled after each round (just before the next one starts).
    let highest = stats();
    let highestPss = highest;
    const t0 = performance.now();
    for (let i = 0; i < Number(arg); i++) {
      churn();
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i + 1) * Number(arg2) - performance.now())));
      const s = { ...stats(), round: i + 1 };
      if (s.totalMB > highest.totalMB) highest = s;
      if (s.totalPssMB > highestPss.totalPssMB) highestPss = s;
    }
    console.log(JSON.stringify({ ...stats(), highest, highestPss, seconds: Math.round((performance.now() - t0) / 1000) }));
  } else if (cmd === 'cpu') {
    const kid = server();
    const r = resolver?.isolated?.pid();
    console.log(JSON.stringify({ parentMs: cpuMs(process.pid), serverMs: kid ? cpuMs(kid) : 0, resolverMs: r ? cpuMs(r) : 0 }));
  } else if (cmd === 'stats') {
    console.log(JSON.stringify(stats()));
  }
}
