// The link tracer's cost, measured in one run between two test namespaces: connection churn rate
// and bulk throughput without and with the collector attached (rounds interleaved, medians
// compared), beside the floor — empty programs on the same tracepoints — and the tracer's programs
// alone (closes folded per link and nothing drained, a ring big enough that no record wakes the
// reader during the run: the kernel's share);
// each with the CPU time client and server used. Then the collector's CPU time, RSS growth and
// kernel program time per 10,000 connections.
// Targets: ≤ 5% fewer connections/s, ≤ 2% less throughput.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWire, destroyAll, type TestHost } from '../helpers/netns.js';
import { warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { LinksProgram } from '../../src/collector/kernel/links-program.js';
import { enableStats, openObject } from '../../src/collector/kernel/index.js';

const ROUNDS = 13;
const CHURN = 10_000;
const BULK = 2 * 1024 ** 3;
const COST_CONNS = 10_000;
const CHURN_PORT = 8001;
const BULK_PORT = 8002;
/** Holds every close record of a churn run (208 bytes each): none wakes the reader meanwhile. */
const KERNEL_ONLY_RING = 1 << 24;
const EMPTY_PROGRAMS = [
  ['empty_state', 'inet_sock_set_state'],
  ['empty_send', 'sock_send_length'],
  ['empty_recv', 'sock_recv_length'],
  ['empty_retransmit', 'tcp_retransmit_skb'],
] as const;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (ratio: number): string => `${((ratio - 1) * 100).toFixed(1)}%`;

function run(host: TestHost, bin: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = host.spawn(bin, args);
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

/** CPU time a server process has used so far (ns; brought up to date at its every context switch). */
const cpuNsOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);

interface Sample {
  /** connections/s or bytes/s */
  rate: number;
  /** CPU time of client and server together (user + system, softirq work in their context
   * included) per connection or per MiB, in µs: what other work on the machine disturbs least. */
  cpuUs: number;
}

/** One load run against servers[server]; `units` = connections or MiB. */
async function load(mode: 'churn' | 'bulk', server: number, arg: number, units: number, port: number): Promise<Sample> {
  const pid = servers[server]!.pid!;
  const s0 = cpuNsOf(pid);
  const m = /seconds ([\d.]+) cpu ([\d.]+)/.exec(await run(wire.a, bin, [mode, wire.bIp, String(port), String(arg)], 60_000));
  const cpuNs = Number(m![2]) * 1e9 + cpuNsOf(pid) - s0;
  return { rate: arg / Number(m![1]), cpuUs: cpuNs / 1000 / units };
}

const churn = (n: number): Promise<Sample> => load('churn', 0, n, n, CHURN_PORT);
const bulk = (): Promise<Sample> => load('bulk', 1, BULK, BULK / 2 ** 20, BULK_PORT);

try {
  warmUp(wire.a, wire.bIp);
  // The client opens tens of thousands of connections to one port: reuse ports in TIME_WAIT.
  wire.a.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_tw_reuse=1', 'net.ipv4.ip_local_port_range=10000 65000']);
  for (const [port, mode] of [[CHURN_PORT, 'churn'], [BULK_PORT, 'bulk']] as const) {
    const s = wire.b.spawn(bin, ['server', wire.bIp, String(port), mode]);
    servers.push(s);
    await new Promise<void>((resolve, reject) => {
      s.stdout!.once('data', () => resolve());
      s.once('exit', (code) => reject(new Error(`${mode} server exited ${code}`)));
    });
  }
  await churn(500);
  await bulk();

  // Each workload in its own interleaved rounds, so neither runs in the other's aftermath.
  type Modes = { off: Sample[]; floor: Sample[]; kernel: Sample[]; on: Sample[] };
  const interleaved = async (work: () => Promise<Sample>): Promise<Modes> => {
    const out: Modes = { off: [], floor: [], kernel: [], on: [] };
    for (let r = 0; r < ROUNDS; r += 1) {
      out.off.push(await work());
      const empty = openObject('lib/bpf/test/l_empty.bpf.o');
      try {
        for (const [program, name] of EMPTY_PROGRAMS) empty.attachRawTracepoint(program, name);
        out.floor.push(await work());
      } finally {
        empty.close();
      }
      const programs = new LinksProgram({ objectPath: 'lib/bpf/links.bpf.o', ringBufferBytes: KERNEL_ONLY_RING });
      try {
        programs.consumeClosed(() => undefined, (e) => console.error(e.message));
        programs.startFolding();
        out.kernel.push(await work());
      } finally {
        programs.close();
      }
      collector = await startLinkCollector();
      out.on.push(await work());
      await collector.close();
      collector = undefined;
    }
    return out;
  };
  const rate = await interleaved(() => churn(CHURN));
  const tput = await interleaved(bulk);
  // Rates: higher is better, ratio = with / without. CPU: lower is better, shown as what it adds.
  const report = (m: Modes, unit: (rate: number) => string, cpuUnit: string, target: string): void => {
    const off = { rate: median(m.off.map((x) => x.rate)), cpu: median(m.off.map((x) => x.cpuUs)) };
    const rows: [string, Sample[]][] = [
      ['empty programs, same tracepoints', m.floor],
      ['tracer programs alone', m.kernel],
      ['with tracer (collector running)', m.on],
    ];
    console.log(`    ${'without tracer'.padEnd(34)}${unit(off.rate).padEnd(14)}CPU ${off.cpu.toFixed(2)} µs/${cpuUnit}`);
    for (const [label, xs] of rows) {
      const r = median(xs.map((x) => x.rate)) / off.rate;
      const c = median(xs.map((x) => x.cpuUs)) / off.cpu;
      const t = xs === m.on ? `; target ≥ ${target}` : '';
      console.log(`    ${label.padEnd(34)}${unit(r * off.rate).padEnd(14)}CPU ${(c * off.cpu).toFixed(2)} µs/${cpuUnit}   rate ${pct(r)}${t}, CPU ${c >= 1 ? '+' : ''}${pct(c)}`);
    }
  };
  console.log(`between two namespaces over a veth pair, median of ${ROUNDS} interleaved rounds;`);
  console.log(`CPU = client + server processes (user + system, softirq work in their context), robust to other load:`);
  console.log(`  connection churn (${CHURN.toLocaleString('en')} sequential, 1 byte each way)`);
  report(rate, (r) => `${r.toFixed(0)} conn/s`, 'conn', '-5%');
  console.log(`  bulk throughput (${(BULK / 1024 ** 3).toFixed(0)} GiB, 64 KiB writes)`);
  report(tput, (r) => `${(r / 1e9).toFixed(2)} GB/s`, 'MiB', '-2%');

  // The collector's own cost for 10,000 connections, and the kernel programs' run time.
  const stats = enableStats();
  try {
    collector = await startLinkCollector();
    const c = collector;
    const before = { cpu: process.cpuUsage(), rss: process.memoryUsage().rss, kernel: c.programStats(), records: c.health().closeRecords, folded: c.health().foldedCloses };
    const t0 = performance.now();
    await churn(COST_CONNS);
    const until = Date.now() + 30_000;
    const closedNow = (): number =>
      c.records().filter((l) => l.client.ip === wire.aIp && l.server.port === CHURN_PORT).reduce((s, l) => s + l.connections.closed, 0);
    while (closedNow() < COST_CONNS && Date.now() < until) {
      c.pollNow();
      await new Promise((r) => setTimeout(r, 50));
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(before.cpu);
    const rss = process.memoryUsage().rss;
    const kernelNs = c.programStats().reduce((s, p) => s + p.runTimeNs - (before.kernel.find((b) => b.name === p.name)?.runTimeNs ?? 0), 0);
    const runs = c.programStats().reduce((s, p) => s + p.runCount - (before.kernel.find((b) => b.name === p.name)?.runCount ?? 0), 0);
    const h = c.health();
    // The collector watches the whole host: other connections meanwhile are part of its work.
    const records = h.closeRecords - before.records;
    const folded = h.foldedCloses - before.folded;
    const seen = records + folded;
    console.log(`collector cost per ${COST_CONNS.toLocaleString('en')} connections (${closedNow().toLocaleString('en')} counted, ${h.ringBufferLost} lost, in ${wall.toFixed(0)} ms;`);
    console.log(`  ${seen.toLocaleString('en')} connections closed on the whole host meanwhile, ${(seen - COST_CONNS).toLocaleString('en')} of them not the bench's;`);
    console.log(`  ${folded.toLocaleString('en')} of them added up per link in the kernel, ${records.toLocaleString('en')} as close records):`);
    console.log(`  user-space CPU     ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms (user ${(cpu.user / 1000).toFixed(1)}, system ${(cpu.system / 1000).toFixed(1)})`);
    const grew = (rss - before.rss) / 2 ** 20;
    console.log(`  RSS                ${(rss / 2 ** 20).toFixed(1)} MiB (${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MiB over the run; GC makes this noisy)`);
    console.log(`  kernel programs    ${(kernelNs / 1e6).toFixed(1)} ms over ${runs.toLocaleString('en')} runs (${(kernelNs / Math.max(runs, 1)).toFixed(0)} ns/run, ${(kernelNs / COST_CONNS / 1000).toFixed(2)} µs/connection)`);
    for (const p of c.programStats()) {
      const b = before.kernel.find((x) => x.name === p.name);
      const [n, ns] = [p.runCount - (b?.runCount ?? 0), p.runTimeNs - (b?.runTimeNs ?? 0)];
      if (n > 0) console.log(`    ${p.name.padEnd(16)} ${(n / COST_CONNS).toFixed(1)} runs/connection, ${(ns / n).toFixed(0)} ns/run`);
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
