// The link tracer's cost, measured in one run between two test namespaces: connection churn rate
// and bulk throughput without and with the collector attached (rounds interleaved, medians
// compared), beside the floor — empty programs on the same tracepoints — then the collector's CPU
// time, RSS growth and kernel program time per 10,000 connections.
// Targets: ≤ 5% fewer connections/s, ≤ 2% less throughput.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWire, destroyAll, type TestHost } from '../helpers/netns.js';
import { warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { enableStats, openObject } from '../../src/collector/kernel/index.js';

const ROUNDS = 9;
const CHURN = 10_000;
const BULK = 2 * 1024 ** 3;
const COST_CONNS = 10_000;
const CHURN_PORT = 8001;
const BULK_PORT = 8002;
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

async function churn(n: number): Promise<number> {
  const m = /seconds ([\d.]+)/.exec(await run(wire.a, bin, ['churn', wire.bIp, String(CHURN_PORT), String(n)], 60_000));
  return n / Number(m![1]);
}

async function bulk(): Promise<number> {
  const m = /seconds ([\d.]+)/.exec(await run(wire.a, bin, ['bulk', wire.bIp, String(BULK_PORT), String(BULK)], 60_000));
  return BULK / Number(m![1]);
}

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
  const interleaved = async (work: () => Promise<number>): Promise<{ off: number[]; floor: number[]; on: number[] }> => {
    const out = { off: [] as number[], floor: [] as number[], on: [] as number[] };
    for (let r = 0; r < ROUNDS; r += 1) {
      out.off.push(await work());
      const empty = openObject('lib/bpf/test/l_empty.bpf.o');
      try {
        for (const [program, name] of EMPTY_PROGRAMS) empty.attachRawTracepoint(program, name);
        out.floor.push(await work());
      } finally {
        empty.close();
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
  const line = (label: string, value: string, ratio?: number, target?: string): void =>
    console.log(`    ${label.padEnd(34)}${value}${ratio === undefined ? '' : `   ratio ${ratio.toFixed(3)} (${pct(ratio)}${target ? `; target ≥ ${target}` : ''})`}`);
  const [rOff, rFloor, rOn] = [median(rate.off), median(rate.floor), median(rate.on)];
  const [tOff, tFloor, tOn] = [median(tput.off), median(tput.floor), median(tput.on)];
  console.log(`between two namespaces over a veth pair, median of ${ROUNDS} interleaved rounds:`);
  console.log(`  connection churn (${CHURN.toLocaleString('en')} sequential, 1 byte each way)`);
  line('without tracer', `${rOff.toFixed(0)} conn/s`);
  line('empty programs, same tracepoints', `${rFloor.toFixed(0)} conn/s`, rFloor / rOff);
  line('with tracer (collector running)', `${rOn.toFixed(0)} conn/s`, rOn / rOff, '-5%');
  console.log(`  bulk throughput (${(BULK / 1024 ** 3).toFixed(0)} GiB, 64 KiB writes)`);
  line('without tracer', `${(tOff / 1e9).toFixed(2)} GB/s`);
  line('empty programs, same tracepoints', `${(tFloor / 1e9).toFixed(2)} GB/s`, tFloor / tOff);
  line('with tracer (collector running)', `${(tOn / 1e9).toFixed(2)} GB/s`, tOn / tOff, '-2%');

  // The collector's own cost for 10,000 connections, and the kernel programs' run time.
  const stats = enableStats();
  try {
    collector = await startLinkCollector();
    const c = collector;
    const before = { cpu: process.cpuUsage(), rss: process.memoryUsage().rss, kernel: c.programStats(), records: c.health().closeRecords };
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
    const seen = h.closeRecords - before.records;
    console.log(`collector cost per ${COST_CONNS.toLocaleString('en')} connections (${closedNow().toLocaleString('en')} counted, ${h.ringBufferLost} lost, in ${wall.toFixed(0)} ms;`);
    console.log(`  ${seen.toLocaleString('en')} connections closed on the whole host meanwhile, ${(seen - COST_CONNS).toLocaleString('en')} of them not the bench's):`);
    console.log(`  user-space CPU     ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms (user ${(cpu.user / 1000).toFixed(1)}, system ${(cpu.system / 1000).toFixed(1)})`);
    const grew = (rss - before.rss) / 2 ** 20;
    console.log(`  RSS                ${(rss / 2 ** 20).toFixed(1)} MiB (${grew >= 0 ? '+' : ''}${grew.toFixed(1)} MiB over the run; GC makes this noisy)`);
    console.log(`  kernel programs    ${(kernelNs / 1e6).toFixed(1)} ms over ${runs.toLocaleString('en')} runs (${(kernelNs / Math.max(runs, 1)).toFixed(0)} ns/run, ${(kernelNs / COST_CONNS / 1000).toFixed(2)} µs/connection)`);
  } finally {
    stats.close();
  }
} finally {
  await collector?.close();
  for (const s of servers) s.kill('SIGKILL');
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
}
