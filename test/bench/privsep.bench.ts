// What privilege separation costs, against the same collector serving from one process, over a
// memory table of 100,000 links: how long a new link takes to reach a subscribed client, the CPU
// each process spends while every link changes every second, and the memory of both processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftClient } from '../../src/cli/client.js';
import type { DeltaMessage, LinkRecord } from '../../src/protocol/index.js';

const LINKS = 100_000;
const ADDS = 30;
const CHURNS = 5;
const dir = mkdtempSync(join(tmpdir(), 'weft-bench-privsep-'));

interface Figures {
  p50: number;
  p99: number;
  parentCpu: number;
  serverCpu: number;
  parentMB: number;
  serverMB: number;
}

const pct = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * q) - 1]!;

async function run(privsep: boolean): Promise<Figures> {
  const args = ['--max-old-space-size=384', '--expose-gc', '--import', 'tsx', 'test/helpers/bench-privsep.ts', '--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), ...(privsep ? [] : ['--no-privsep'])];
  const p: ChildProcess = spawn(process.execPath, args, { env: { ...process.env, BENCH_LINKS: String(LINKS), NODE_OPTIONS: '--max-old-space-size=384' }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => JSON.parse((await lines.next()).value as string) as Record<string, unknown>;
  const ask = async (cmd: string): Promise<Record<string, number>> => {
    p.stdin!.write(`${cmd}\n`);
    return (await next()) as Record<string, number>;
  };
  try {
    const { url } = (await next()) as { url: string };
    const { readFileSync } = await import('node:fs');
    const client = await WeftClient.connect({ server: url, token: readFileSync(join(dir, 'token'), 'utf8').trim() });
    const seen = new Map<string, number>();
    client.onMessage((m) => {
      if (m.type === 'delta') for (const r of (m as DeltaMessage<LinkRecord>).upsert) if (!seen.has(r.id)) seen.set(r.id, performance.now());
    });
    client.subscribe('new', { table: 'links', filter: { port: 9999 } });
    await new Promise((r) => setTimeout(r, 1000));
    const lat: number[] = [];
    for (let i = 0; i < ADDS; i++) {
      const id = `l${String(LINKS + i).padStart(6, '0')}`;
      const t0 = performance.now();
      await ask(`add ${i}`);
      for (let w = 0; w < 200 && !seen.has(id); w++) await new Promise((r) => setTimeout(r, 5));
      if (!seen.has(id)) throw new Error(`link ${id} never reached the client`);
      lat.push(seen.get(id)! - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = await ask('cpu');
    for (let i = 0; i < CHURNS; i++) {
      await ask('churn');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const after = await ask('cpu');
    const s = await ask('stats');
    await client.close();
    const per = (k: string): number => Math.round((after[k]! - before[k]!) / CHURNS);
    return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), parentCpu: per('parentMs'), serverCpu: per('serverMs'), parentMB: s.parentMB!, serverMB: s.serverMB! };
  } finally {
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
  }
}

if (process.getuid?.() !== 0) {
  console.log('privsep: skipped (starting the server process as nobody needs root)');
} else {
  const one = await run(false);
  const two = await run(true);
  rmSync(dir, { recursive: true, force: true });
  const f = (x: number): string => x.toFixed(1);
  console.log(`privilege separation vs one process, ${LINKS.toLocaleString('en')} links in the table:`);
  console.log(`  new link → subscribed client (${ADDS} adds): one process p50 ${f(one.p50)} ms p99 ${f(one.p99)} ms; privsep p50 ${f(two.p50)} ms p99 ${f(two.p99)} ms (p99 ${(two.p99 / one.p99).toFixed(2)}×)`);
  console.log(`  CPU per round where every link changes (${CHURNS} rounds, 1 s apart): one process ${one.parentCpu} ms; privsep parent ${two.parentCpu} ms + server ${two.serverCpu} ms (parent ${(two.parentCpu / one.parentCpu).toFixed(2)}×, both ${((two.parentCpu + two.serverCpu) / one.parentCpu).toFixed(2)}×)`);
  console.log(`  RSS: one process ${f(one.parentMB)} MB; privsep parent ${f(two.parentMB)} MB + server ${f(two.serverMB)} MB = ${f(two.parentMB + two.serverMB)} MB (${((two.parentMB + two.serverMB) / one.parentMB).toFixed(2)}×)`);
}
