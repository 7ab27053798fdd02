// What privilege separation costs, against the same collector serving from one process, over the
// kernel tables' link table fed 100,000 open connections a poll, each its own link (see
// test/helpers/bench-privsep.mjs): how long a new link takes to reach a subscribed client, the CPU
// each process spends while every link changes every second; then the memory of all three processes
// (the parent, the server, and the resolver the kernel tables start) through an hour's worth of
// history intervals with every link changing in each of them.
// All run the compiled lib/ (as `npm start` and deploy/ do) under the node flags and malloc
// setting deploy/weft.service sets (NODE_OPTIONS, MALLOC_ARENA_MAX, which the children inherit).
// Target: the collector's resident memory ≤ 300 MB with 100,000 links and 1 h of history. Its
// processes share pages (node's code), so besides RSS summed (shared pages once per process) and PSS
// (shared pages split with every process mapping them, other nodes on the machine too) the bench
// reads the physical pages resident in any of them, each once, every SAMPLE_MS through the hour.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftClient } from '../../src/cli/client.js';
import { residentMB } from '../helpers/resident-pages.js';
import type { DeltaMessage, LinkRecord } from '../../src/protocol/index.js';

const LINKS = 100_000;
const ADDS = 30;
const CHURNS = 5;
// An hour of history is 360 intervals of 10 s. Memory depends on how many intervals are kept and
// what each stores, not on their length, so the bench keeps 360 intervals of 1 s (6 minutes) with
// every link changing once a second: the same history an hour at 10 s leaves, in a tenth of the time.
const INTERVALS = 360;
/** How often the bench reads the collector's resident pages during the hour. */
const SAMPLE_MS = 250;
const HOUR = ['--history', `${INTERVALS}s`, '--history-resolution', '1s', '--figures-interval', '1s'];
const dir = mkdtempSync(join(tmpdir(), 'weft-bench-privsep-'));
// BENCH_NODE_OPTIONS and BENCH_MALLOC_ARENA_MAX ('' for glibc's default) try other settings than deploy/'s.
const unit = readFileSync('deploy/weft.service', 'utf8');
const setting = (name: string): string | undefined => new RegExp(`^Environment="?${name}=([^"\n]*)"?$`, 'm').exec(unit)?.[1];
const NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? setting('NODE_OPTIONS') ?? '';
const ARENAS = process.env.BENCH_MALLOC_ARENA_MAX ?? setting('MALLOC_ARENA_MAX') ?? '';
const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = { ...process.env, BENCH_LINKS: String(LINKS), NODE_OPTIONS };
  if (ARENAS) e.MALLOC_ARENA_MAX = ARENAS;
  else delete e.MALLOC_ARENA_MAX;
  return e;
};

interface Memory {
  rssMB: number;
  peakMB: number;
  pssMB: number;
}
interface Stats {
  parent: Memory;
  server: Memory;
  resolver: Memory;
  totalMB: number;
  totalPssMB: number;
  /** Of a sample taken during the hour: after which round. */
  round?: number;
}

const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * q) - 1]!;

async function collector(privsep: boolean, flags: string[] = [], onSpawn?: (pid: number) => void): Promise<{ p: ChildProcess; url: string; ask(cmd: string): Promise<Record<string, unknown>>; token: string }> {
  const args = [...NODE_OPTIONS.split(/\s+/).filter(Boolean), 'test/helpers/bench-privsep.mjs', '--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), ...(privsep ? [] : ['--no-privsep']), ...flags];
  const p = spawn(process.execPath, args, { env: env(), stdio: ['pipe', 'pipe', 'inherit'] });
  onSpawn?.(p.pid!);
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  const { url } = (await next()) as { url: string };
  return {
    p,
    url,
    token: readFileSync(join(dir, 'token'), 'utf8').trim(),
    ask: async (cmd) => {
      p.stdin!.write(`${cmd}\n`);
      return next();
    },
  };
}

async function stop(p: ChildProcess): Promise<void> {
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
}

async function costs(privsep: boolean): Promise<{ p50: number; p99: number; parentCpu: number; serverCpu: number; resolverCpu: number }> {
  const c = await collector(privsep);
  try {
    const client = await WeftClient.connect({ server: c.url, token: c.token });
    const seen = new Map<string, number>();
    client.onMessage((m) => {
      if (m.type === 'delta') for (const r of (m as DeltaMessage<LinkRecord>).upsert) if (!seen.has(r.id)) seen.set(r.id, performance.now());
    });
    client.subscribe('new', { table: 'links', filter: { port: 9999 } });
    await new Promise((r) => setTimeout(r, 1000));
    const lat: number[] = [];
    for (let i = 0; i < ADDS; i++) {
      const t0 = performance.now();
      const { id } = (await c.ask(`add ${i}`)) as { id: string };
      for (let w = 0; w < 200 && !seen.has(id); w++) await new Promise((r) => setTimeout(r, 5));
      if (!seen.has(id)) throw new Error(`link ${id} never reached the client`);
      lat.push(seen.get(id)! - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = (await c.ask('cpu')) as Record<string, number>;
    for (let i = 0; i < CHURNS; i++) {
      await c.ask('churn');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const after = (await c.ask('cpu')) as Record<string, number>;
    await client.close();
    const per = (k: string): number => Math.round((after[k]! - before[k]!) / CHURNS);
    return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), parentCpu: per('parentMs'), serverCpu: per('serverMs'), resolverCpu: per('resolverMs') };
  } finally {
    await stop(c.p);
  }
}

/** The collector's processes: the one started and its children (server and resolver processes). */
function processGroup(pid: number): number[] {
  const children = (task: string): number[] => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return []; // a thread that just ended
    }
  };
  try {
    return [pid, ...readdirSync(`/proc/${pid}/task`).flatMap(children)];
  } catch {
    return []; // the collector ended
  }
}

interface Resident {
  /** When the rounds start (the table full, history empty). */
  startMB: number;
  lastMB: number;
  /** Over the collector's whole life: its start with the full table, then the hour. */
  highestMB: number;
  highestAtS: number;
}

/** Reads the group's resident memory (every page once) every SAMPLE_MS from the spawn until done() (the first call counts). */
function residentSampler(pid: number): { now(): number; done(): Resident } {
  const t0 = performance.now();
  let highestMB = 0;
  let highestAtS = 0;
  const sample = (): number => {
    const mb = residentMB(processGroup(pid));
    if (mb > highestMB) {
      highestMB = mb;
      highestAtS = (performance.now() - t0) / 1000;
    }
    return mb;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  let startMB = 0;
  let result: Resident | undefined;
  return {
    now: () => (startMB = sample()),
    done: () => {
      clearInterval(timer);
      result ??= { startMB, lastMB: sample(), highestMB, highestAtS };
      return result;
    },
  };
}

/** Memory through INTERVALS history intervals, every link changing in each, with one live top-200 subscriber (what a Node Graph panel holds). */
async function hour(privsep: boolean): Promise<{ start: Stats; end: Stats; highest: Stats; highestPss: Stats; resident: Resident; seconds: number; history: { bytes: number; intervals: number }; deltas: number; cpu: Record<string, number> }> {
  let sampler: ReturnType<typeof residentSampler> | undefined;
  const c = await collector(privsep, HOUR, (pid) => (sampler = residentSampler(pid)));
  try {
    const start = (await c.ask('stats')) as unknown as Stats;
    const client = await WeftClient.connect({ server: c.url, token: c.token, timeoutMs: 60_000 });
    let deltas = 0;
    client.onMessage((m) => {
      if (m.type === 'delta') deltas++;
    });
    client.subscribe('top', { table: 'links', top: 200 });
    const before = (await c.ask('cpu')) as Record<string, number>;
    sampler!.now();
    const r = (await c.ask(`rounds ${INTERVALS} 1000`)) as unknown as Stats & { highest: Stats; highestPss: Stats; seconds: number };
    const resident = sampler!.done();
    const after = (await c.ask('cpu')) as Record<string, number>;
    const cpu = Object.fromEntries(Object.keys(after).map((k) => [k, Math.round((after[k]! - before[k]!) / INTERVALS)]));
    const health = (await (await fetch(c.url.replace(/^ws/, 'http').replace(/\/[^/]*$/, '/healthz'))).json()) as { history: { links: { bytes: number; intervals: number } } };
    await client.close();
    return { start, end: r, highest: r.highest, highestPss: r.highestPss, resident, seconds: r.seconds, history: health.history.links, deltas, cpu };
  } finally {
    sampler?.done();
    await stop(c.p);
  }
}

const f = (x: number): string => x.toFixed(1);
const all = (s: Stats): string => `parent ${f(s.parent.rssMB)} + server ${f(s.server.rssMB)} + resolver ${f(s.resolver.rssMB)} = ${f(s.totalMB)} MB`;
const pss = (s: Stats): string => `parent ${f(s.parent.pssMB)} + server ${f(s.server.pssMB)} + resolver ${f(s.resolver.pssMB)} = ${f(s.totalPssMB)} MB`;
const resident = (r: Resident): string => `${f(r.startMB)} MB at the start of the rounds, ${f(r.lastMB)} MB at the end, highest ${f(r.highestMB)} MB at ${r.highestAtS.toFixed(0)} s after the spawn (start included; target ≤ 300 MB)`;
const settings = `lib/, node ${NODE_OPTIONS || 'without flags'}, ${ARENAS ? `MALLOC_ARENA_MAX=${ARENAS}` : "glibc's default malloc arenas"}`;

if (process.getuid?.() !== 0) {
  console.log('privsep: skipped (starting the server process as nobody needs root)');
} else if (process.env.BENCH_ONE_PROCESS) {
  // --no-privsep: the one process that loads the kernel tables' code, serves and resolves.
  const mem = await hour(false);
  rmSync(dir, { recursive: true, force: true });
  console.log(`memory with --no-privsep (one process), ${LINKS.toLocaleString('en')} links all changing in each of ${INTERVALS} history intervals (${HOUR.join(' ')}), one top-200 subscriber, ${mem.seconds} s (${settings}):`);
  console.log(`  RSS / PSS at start (tables only) ${f(mem.start.parent.rssMB)} / ${f(mem.start.parent.pssMB)} MB`);
  console.log(`  RSS / PSS after ${INTERVALS} intervals      ${f(mem.end.parent.rssMB)} / ${f(mem.end.parent.pssMB)} MB; history ${f(mem.history.bytes / 1024 / 1024)} MB in ${mem.history.intervals} intervals, ${mem.deltas} deltas to the subscriber`);
  console.log(`  highest RSS seen (each round)   ${f(mem.highest.parent.rssMB)} MB after round ${mem.highest.round} (target ≤ 300 MB); highest PSS ${f(mem.highestPss.parent.pssMB)} MB after round ${mem.highestPss.round}; peak RSS (VmHWM) ${f(mem.end.parent.peakMB)} MB`);
  console.log(`  resident, every page once (every ${SAMPLE_MS} ms): ${resident(mem.resident)}`);
  console.log(`  CPU per round over the ${INTERVALS} rounds: ${mem.cpu.parentMs} ms`);
} else {
  const one = await costs(false);
  const two = await costs(true);
  const mem = await hour(true);
  rmSync(dir, { recursive: true, force: true });
  console.log(`privilege separation vs one process, ${LINKS.toLocaleString('en')} links in the table (${settings}):`);
  console.log(`  new link → subscribed client (${ADDS} adds): one process p50 ${f(one.p50)} ms p99 ${f(one.p99)} ms; privsep p50 ${f(two.p50)} ms p99 ${f(two.p99)} ms (p99 ${(two.p99 / one.p99).toFixed(2)}×)`);
  console.log(`  CPU per round where every link changes (${CHURNS} rounds, 1 s apart): one process ${one.parentCpu} ms; privsep parent ${two.parentCpu} ms + server ${two.serverCpu} ms + resolver ${two.resolverCpu} ms (parent ${(two.parentCpu / one.parentCpu).toFixed(2)}×, all ${((two.parentCpu + two.serverCpu + two.resolverCpu) / one.parentCpu).toFixed(2)}×)`);
  console.log(`memory with privilege separation, ${LINKS.toLocaleString('en')} links all changing in each of ${INTERVALS} history intervals (an hour's worth; ${HOUR.join(' ')}), one top-200 subscriber, ${mem.seconds} s:`);
  console.log(`  RSS at start (tables only)     ${all(mem.start)}`);
  console.log(`  RSS after ${INTERVALS} intervals        ${all(mem.end)}; history ${f(mem.history.bytes / 1024 / 1024)} MB in ${mem.history.intervals} intervals, ${mem.deltas} deltas to the subscriber`);
  console.log(`  highest RSS total (each round) ${all(mem.highest)} after round ${mem.highest.round} (shared pages once per process)`);
  console.log(`  peak RSS of each (VmHWM)       parent ${f(mem.end.parent.peakMB)} MB, server ${f(mem.end.server.peakMB)} MB, resolver ${f(mem.end.resolver.peakMB)} MB`);
  console.log(`  PSS (shared pages split among the processes mapping them) at the start: ${pss(mem.start)}`);
  console.log(`  PSS at the end:                ${pss(mem.end)}`);
  console.log(`  highest PSS total (each round) ${pss(mem.highestPss)} after round ${mem.highestPss.round}`);
  console.log(`  resident, the three processes' pages each counted once (read every ${SAMPLE_MS} ms): ${resident(mem.resident)}`);
  console.log(`  CPU per round over the ${INTERVALS} rounds: parent ${mem.cpu.parentMs} ms + server ${mem.cpu.serverMs} ms + resolver ${mem.cpu.resolverMs} ms`);
}
