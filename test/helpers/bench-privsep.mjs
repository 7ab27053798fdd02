// `weft-collector` as it runs in production: main() from the compiled lib/ (no TypeScript loader
// in either process, so the server process it starts is lib/'s server-child.js under the same
// node flags), privilege separation on unless --no-privsep is passed, over a memory table of
// BENCH_LINKS links that stands in for the kernel's, and with privilege separation the resolver
// process the kernel tables start (lib/'s resolver-child.js as the same unprivileged user, through
// the same startResolverProcess; no cluster, so no informers). Plain JavaScript so that nothing but the
// collector's own code is loaded. Commands on stdin, one JSON answer per line:
//   add N           a new link (server port 9999) appears
//   churn           every link changes
//   rounds N MS     every link changes N times, MS apart; answers with the memory seen meanwhile
//                   (the sample with the highest RSS total, and the one with the highest PSS total)
//   cpu             CPU milliseconds used so far by this process and by its server and resolver processes, if any
//   stats           memory of this process and of its server and resolver processes, if any
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { main } from '../../lib/collector/main.js';
import { MemoryTable } from '../../lib/collector/tables/memory-table.js';
import { resolverInit } from '../../lib/collector/privsep/resolver-init.js';
import { startResolverProcess } from '../../lib/collector/privsep/resolver-process.js';
// Loaded, not run: the parent carries the code lib/collector/cli.js loads to open the kernel's tables.
import '../../lib/collector/tables/kernel-tables.js';

const N = Number(process.env.BENCH_LINKS ?? 100_000);
const FEATURES = { kernelRelease: 'bench', btf: true, ringbuf: true, tcx: true, bpfStats: false, tracepoints: { 'sock:inet_sock_set_state': true }, kprobes: false };

/** The records of test/helpers/records.ts link(): every client its own, one server. */
function link(n) {
  return {
    id: `l${String(n).padStart(6, '0')}`,
    client: { ip: `10.51.${(n >> 8) & 255}.${n & 255}`, netns: 'netns:[4026531840]', pid: 1000 + n, process: 'curl', kind: 'process', name: `client-${n}` },
    server: { ip: '10.51.255.1', port: 8080, netns: 'netns:[4026531841]', pid: 42, process: 'nginx', kind: 'process', name: 'web' },
    protocol: 'tcp',
    bytesSent: 100 * n,
    bytesReceived: 1000 * n,
    sendRate: 0,
    receiveRate: 0,
    connections: { active: 1, closed: 0, failed: 0 },
    rttMs: 0.1,
    retransmits: 0,
    firstSeen: 1_700_000_000_000,
    lastSeen: 1_700_000_000_000,
  };
}

const links = new MemoryTable(Array.from({ length: N }, (_, i) => link(i)));
const flows = new MemoryTable();

let url = '';
let resolver;
await main(process.argv, async (_config, privileges) => {
  if (privileges.isolate) {
    resolver = startResolverProcess({ user: privileges.isolate, setup: resolverInit(undefined, {}, undefined, () => undefined), onNames: () => undefined, log: (l) => console.error(l) });
    await resolver.ready();
  }
  return { links, flows, features: FEATURES, health: {}, close: () => resolver?.close() };
}, (line) => {
  url ||= /WebSocket (ws:\/\/[^\s,)]+)/.exec(line)?.[1] ?? '';
});
console.log(JSON.stringify({ url }));

const children = () => readdirSync('/proc/self/task').flatMap((t) => readFileSync(`/proc/self/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
const server = () => children().find((pid) => pid !== resolver?.pid());
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
  const all = { parent: memory(process.pid), server: memory(server()), resolver: memory(resolver?.pid()) };
  const ps = Object.values(all);
  return { ...all, totalMB: sum(ps.map((m) => m.rssMB)), totalPssMB: sum(ps.map((m) => m.pssMB)) };
}
/** utime + stime of a process, in milliseconds (clock ticks are 10 ms on Linux). */
const cpuMs = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};

let round = 0;
function churn() {
  round += 1;
  // New record objects, as a table fed by the kernel hands them out when a record changes.
  links.replace(links.records().map((r) => ({ ...r, bytesSent: r.bytesSent + round, bytesReceived: r.bytesReceived + 2 * round, lastSeen: r.lastSeen + 1000 })));
}

for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, arg, arg2] = line.trim().split(/\s+/);
  if (cmd === 'add') {
    const base = link(N + Number(arg));
    links.upsert([{ ...base, server: { ...base.server, port: 9999 } }]);
    console.log('{}');
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
    const r = resolver?.pid();
    console.log(JSON.stringify({ parentMs: cpuMs(process.pid), serverMs: kid ? cpuMs(kid) : 0, resolverMs: r ? cpuMs(r) : 0 }));
  } else if (cmd === 'stats') {
    console.log(JSON.stringify(stats()));
  }
}
