// The link tracer's cost, measured in one run between two test namespaces: connection churn rate
// and bulk throughput without and with the collector.
//
// "Without" is this same bench process with nothing attached; "with" is the collector started in
// it (programs attached, polling as in production), started before the timed load and closed
// after it. Both arms run the same load binary against the same servers in the same namespaces.
// Client and server are pinned to fixed CPUs, the same for both arms: where they run changes the
// churn rate by 2x (one CPU: no wakeup across CPUs) and the tracer's per-connection cost (an entry
// written on one CPU and read on the other is a cache miss). Rounds are short and come in pairs,
// the order alternating (without/with, with/without, ...); each pair gives one ratio, so drift of
// the machine over the run cancels out. The first pairs are warm-up and left out. Printed: the
// median of the ratios, its 95% confidence interval (distribution-free, from the ratios' ranks),
// their interquartile range and extremes. Then the collector's CPU time, RSS and kernel program
// time per 10,000 connections.
// Targets: ≤ 5% fewer connections/s, ≤ 2% less throughput.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWire, destroyAll, type TestHost } from '../helpers/netns.js';
import { warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { enableStats } from '../../src/collector/kernel/index.js';

const WARMUP_PAIRS = 2;
const CHURN_PAIRS = 20;
const BULK_PAIRS = 40;
const CHURN = 3_000;
const BULK = 1024 ** 3;
const COST_CONNS = 10_000;
const CHURN_PORT = 8001;
const BULK_PORT = 8002;
const SERVER_CPU = '1';
const SETTLE_MS = 100;
const APART = { label: 'client CPU 0, server CPU 1', clientCpu: '0' };
const TOGETHER = { label: 'client and server on CPU 1', clientCpu: '1' };
/** The program under test: another build can be compared (e.g. WEFT_LINKS_OBJECT=/tmp/old.bpf.o). */
const OBJECT = process.env.WEFT_LINKS_OBJECT ?? 'lib/bpf/links.bpf.o';

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number): number => {
  const s = sorted(xs);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
};
const median = (xs: number[]): number => quantile(xs, 0.5);
const pct = (ratio: number): string => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`;

/** 95% confidence interval of the median: the order statistics whose ranks a Binomial(n, ½) puts
 * around the middle with 95% between them (no assumption about the ratios' distribution). */
function medianCi(xs: number[]): [number, number] {
  const s = sorted(xs);
  const n = s.length;
  const pmf = (k: number): number => {
    let c = 1;
    for (let i = 0; i < k; i += 1) c = (c * (n - i)) / (i + 1);
    return c / 2 ** n;
  };
  let k = 0;
  let tail = pmf(0);
  while (tail + pmf(k + 1) <= 0.025) {
    k += 1;
    tail += pmf(k);
  }
  return [s[k]!, s[n - 1 - k]!];
}

function run(host: TestHost, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = host.spawn('taskset', args);
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${args.join(' ')}: timed out`));
    }, timeoutMs);
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'weft-links-bench-'));
const bin = join(dir, 'links-load');
execFileSync('gcc', ['-O2', '-Wall', '-o', bin, 'test/helpers/links-load.c']);
const wire = createWire(34);
const servers: ReturnType<TestHost['spawn']>[] = [];
let collector: LinkCollector | undefined;

/** CPU time a server process has used so far, and how long it waited for a CPU while runnable (ns;
 * brought up to date at its every context switch). */
const schedOf = (pid: number): { cpuNs: number; waitNs: number } => {
  const [cpu, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
  return { cpuNs: Number(cpu), waitNs: Number(wait) };
};

interface Sample {
  /** connections/s or bytes/s */
  rate: number;
  /** CPU time of client and server together (user + system, softirq work in their context
   * included) per connection or per MiB, in µs. */
  cpuUs: number;
  /** Time client and server waited for a CPU while runnable, as a share of the round: other work
   * on their CPUs. */
  waited: number;
}

type Work = (clientCpu: string) => Promise<Sample>;

/** One load run against servers[server]; `units` = connections or MiB. */
async function load(mode: 'churn' | 'bulk', clientCpu: string, arg: number, units: number): Promise<Sample> {
  const server = mode === 'churn' ? 0 : 1;
  const port = mode === 'churn' ? CHURN_PORT : BULK_PORT;
  const pid = servers[server]!.pid!;
  const s0 = schedOf(pid);
  const out = await run(wire.a, ['-c', clientCpu, bin, mode, wire.bIp, String(port), String(arg)], 60_000);
  const s1 = schedOf(pid);
  const m = /seconds ([\d.]+) cpu ([\d.]+) wait ([\d.]+)/.exec(out);
  if (!m) throw new Error(`links-load printed ${JSON.stringify(out)}`);
  const seconds = Number(m[1]);
  const cpuNs = Number(m[2]) * 1e9 + s1.cpuNs - s0.cpuNs;
  const waitNs = Number(m[3]) * 1e9 + s1.waitNs - s0.waitNs;
  return { rate: arg / seconds, cpuUs: cpuNs / 1000 / units, waited: waitNs / 1e9 / seconds };
}

const churn: Work = (cpu) => load('churn', cpu, CHURN, CHURN);
const bulk: Work = (cpu) => load('bulk', cpu, BULK, BULK / 2 ** 20);

/** One round with the collector running: started before the load, closed after it. */
async function withCollector(work: () => Promise<Sample>): Promise<Sample> {
  collector = await startLinkCollector({ objectPath: OBJECT });
  await settle();
  try {
    return await work();
  } finally {
    await collector.close();
    collector = undefined;
    await settle();
  }
}

/** Loading and freeing the programs' maps leaves work to kernel threads (RCU callbacks, deferred
 * frees): let it finish outside the timed load. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, SETTLE_MS));

interface Pairs {
  off: Sample[];
  on: Sample[];
}

async function pairs(work: Work, clientCpu: string, n: number): Promise<Pairs> {
  const out: Pairs = { off: [], on: [] };
  for (let i = 0; i < WARMUP_PAIRS + n; i += 1) {
    const offFirst = i % 2 === 0;
    const a = offFirst ? await work(clientCpu) : await withCollector(() => work(clientCpu));
    const b = offFirst ? await withCollector(() => work(clientCpu)) : await work(clientCpu);
    if (i < WARMUP_PAIRS) continue;
    out.off.push(offFirst ? a : b);
    out.on.push(offFirst ? b : a);
  }
  return out;
}

function report(p: Pairs, unit: (rate: number) => string, cpuUnit: string, target: string): void {
  const rate = p.on.map((s, i) => s.rate / p.off[i]!.rate);
  const cpu = p.on.map((s, i) => s.cpuUs / p.off[i]!.cpuUs);
  const [lo, hi] = medianCi(rate);
  const offRate = median(p.off.map((s) => s.rate));
  const onRate = median(p.on.map((s) => s.rate));
  const waited = (xs: Sample[]): string => `${(median(xs.map((s) => s.waited)) * 100).toFixed(1)}%`;
  console.log(`    without ${unit(offRate)}, with ${unit(onRate)} (medians; client + server waited for a CPU ${waited(p.off)} / ${waited(p.on)} of the time)`);
  console.log(
    `    rate with/without: median ${pct(median(rate))} (95% CI ${pct(lo)} … ${pct(hi)}; IQR ${pct(quantile(rate, 0.25))} … ${pct(quantile(rate, 0.75))}; ` +
      `min ${pct(Math.min(...rate))}, max ${pct(Math.max(...rate))}); target ≥ ${target}`,
  );
  console.log(
    `    CPU of client + server: ${median(p.off.map((s) => s.cpuUs)).toFixed(2)} → ${median(p.on.map((s) => s.cpuUs)).toFixed(2)} µs/${cpuUnit}, ` +
      `median ratio ${pct(median(cpu))} (IQR ${pct(quantile(cpu, 0.25))} … ${pct(quantile(cpu, 0.75))})`,
  );
}

try {
  warmUp(wire.a, wire.bIp);
  // The client opens tens of thousands of connections to one port: reuse ports in TIME_WAIT.
  wire.a.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=10000 65000']);
  for (const [port, mode] of [[CHURN_PORT, 'churn'], [BULK_PORT, 'bulk']] as const) {
    const s = wire.b.spawn('taskset', ['-c', SERVER_CPU, bin, 'server', wire.bIp, String(port), mode]);
    servers.push(s);
    await new Promise<void>((resolve, reject) => {
      s.stdout!.once('data', () => resolve());
      s.once('exit', (code) => reject(new Error(`${mode} server exited ${code}`)));
    });
  }

  const t0 = performance.now();
  console.log(`between two namespaces over a veth pair; pairs of rounds (order alternating, ${WARMUP_PAIRS} warm-up pairs left out);`);
  console.log(`"without": nothing attached; "with": the collector running in the bench process. Ratio = with / without, per pair.`);
  console.log(`CPU = client + server processes (user + system, softirq work in their context included).`);
  console.log(`program: ${OBJECT}`);
  for (const pl of [APART, TOGETHER]) {
    console.log(`  connection churn, ${pl.label} (${CHURN_PAIRS} pairs of rounds of ${CHURN.toLocaleString('en')} sequential connections, 1 byte each way)`);
    report(await pairs(churn, pl.clientCpu, CHURN_PAIRS), (r) => `${r.toFixed(0)} conn/s`, 'conn', '-5%');
  }
  // Bulk on one CPU is left out: there its rate depends on how the scheduler interleaves sender
  // and receiver, ±7% from round to round with nothing attached.
  console.log(`  bulk throughput, ${APART.label} (${BULK_PAIRS} pairs of rounds of ${BULK / 2 ** 20} MiB, 64 KiB writes)`);
  report(await pairs(bulk, APART.clientCpu, BULK_PAIRS), (r) => `${(r / 1e9).toFixed(2)} GB/s`, 'MiB', '-2%');
  console.log(`  (rounds took ${((performance.now() - t0) / 1000).toFixed(0)} s)`);

  // The collector's own cost for 10,000 connections, and the kernel programs' run time, per placement.
  const stats = enableStats();
  try {
    for (const pl of [APART, TOGETHER]) {
      collector = await startLinkCollector({ objectPath: OBJECT });
      const c = collector;
      const before = { cpu: process.cpuUsage(), rss: process.memoryUsage().rss, kernel: c.programStats(), records: c.health().closeRecords, folded: c.health().foldedCloses };
      const t1 = performance.now();
      await load('churn', pl.clientCpu, COST_CONNS, COST_CONNS);
      const until = Date.now() + 30_000;
      const closedNow = (): number =>
        c.records().filter((l) => l.client.ip === wire.aIp && l.server.port === CHURN_PORT).reduce((s, l) => s + l.connections.closed, 0);
      while (closedNow() < COST_CONNS && Date.now() < until) {
        c.pollNow();
        await new Promise((r) => setTimeout(r, 50));
      }
      const wall = performance.now() - t1;
      const cpu = process.cpuUsage(before.cpu);
      const rss = process.memoryUsage().rss;
      const after = c.programStats();
      const delta = after.map((p) => {
        const b = before.kernel.find((x) => x.name === p.name);
        return { name: p.name, runs: p.runCount - (b?.runCount ?? 0), ns: p.runTimeNs - (b?.runTimeNs ?? 0) };
      });
      const kernelNs = delta.reduce((s, p) => s + p.ns, 0);
      const runs = delta.reduce((s, p) => s + p.runs, 0);
      const h = c.health();
      // The collector watches the whole host: other connections meanwhile are part of its work.
      const records = h.closeRecords - before.records;
      const folded = h.foldedCloses - before.folded;
      const seen = records + folded;
      console.log(`collector cost per ${COST_CONNS.toLocaleString('en')} connections, ${pl.label} (${closedNow().toLocaleString('en')} counted, ${h.ringBufferLost} lost, in ${wall.toFixed(0)} ms;`);
      console.log(`  ${seen.toLocaleString('en')} connections closed on the whole host meanwhile, ${(seen - COST_CONNS).toLocaleString('en')} of them not the bench's;`);
      console.log(`  ${folded.toLocaleString('en')} of them added up per link in the kernel, ${records.toLocaleString('en')} as close records):`);
      console.log(`  user-space CPU     ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms (user ${(cpu.user / 1000).toFixed(1)}, system ${(cpu.system / 1000).toFixed(1)})`);
      const grew = (rss - before.rss) / 2 ** 20;
      console.log(`  RSS                ${(rss / 2 ** 20).toFixed(1)} MiB (${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MiB over the run; GC makes this noisy)`);
      console.log(`  kernel programs    ${(kernelNs / 1e6).toFixed(1)} ms over ${runs.toLocaleString('en')} runs (${(kernelNs / Math.max(runs, 1)).toFixed(0)} ns/run, ${(kernelNs / COST_CONNS / 1000).toFixed(2)} µs/connection)`);
      for (const p of delta) {
        if (p.runs > 0) console.log(`    ${p.name.padEnd(16)} ${(p.runs / COST_CONNS).toFixed(1)} runs/connection, ${(p.ns / p.runs).toFixed(0)} ns/run, ${(p.ns / COST_CONNS).toFixed(0)} ns/connection`);
      }
      await c.close();
      collector = undefined;
    }
  } finally {
    stats.close();
  }
} finally {
  await collector?.close();
  for (const s of servers) s.kill('SIGKILL');
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
}
