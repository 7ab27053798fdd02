// Ring buffers fed by the kernel, consumed on the Node event loop: 100,000 records all received
// in order with none dropped; a throwing consumer neither crashes the process nor stops delivery;
// an open consumer keeps its process alive, a closed one lets it go.
import { afterEach, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { openObject, type KernelObject } from '../../src/collector/kernel/index.js';
import { describePrivileged } from '../helpers/privileged.js';

const RECORDS = 100_000;
const RECORD_SIZE = 24;

function child(...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'test/integration/kernel-child.ts', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function lines(c: ChildProcess): unknown[] {
  const out: unknown[] = [];
  let buf = '';
  c.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      out.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  return out;
}

const exited = (c: ChildProcess, ms: number) =>
  new Promise<number | null | 'timeout'>((resolve) => {
    const t = setTimeout(() => resolve('timeout'), ms);
    c.on('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

describePrivileged('ring buffers', () => {
  let o: KernelObject | undefined;
  const children: ChildProcess[] = [];
  afterEach(() => {
    o?.close();
    o = undefined;
    for (const c of children.splice(0)) c.kill('SIGKILL');
  });

  it(`receives every one of ${RECORDS} records the kernel submits, in order, none dropped`, async () => {
    // Room for every record (24 bytes + 8 header): a full buffer would be a drop, counted by the program.
    o = openObject('lib/bpf/test/k_ring.bpf.o', { mapSizes: { events: 1 << 23 } });
    const seqs = new Float64Array(RECORDS);
    let received = 0;
    let wakeups = 0;
    let badSize = 0;
    const consumer = o.consumeRingBuffer('events', (records) => {
      wakeups += 1;
      for (const r of records) {
        if (r.length !== RECORD_SIZE) badSize += 1;
        if (received < RECORDS) seqs[received] = Number(r.readBigUInt64LE(0));
        received += 1;
      }
    });
    // On the thread pool: the event loop drains while the kernel produces.
    const run = await o.testRunAsync('submit', { data: Buffer.alloc(64), repeat: RECORDS });
    expect(run.retval).toBe(0);
    await until(() => received >= RECORDS, 10_000);
    // Anything extra would arrive now.
    await new Promise((r) => setTimeout(r, 50));
    consumer.close();

    const counters = o.map('counters').lookupBatch();
    expect({ submitted: counters.values.readBigUInt64LE(0), dropped: counters.values.readBigUInt64LE(8) }).toEqual({
      submitted: BigInt(RECORDS),
      dropped: 0n,
    });
    expect(received).toBe(RECORDS);
    expect(badSize).toBe(0);
    let outOfOrder = 0;
    for (let i = 0; i < RECORDS; i++) if (seqs[i] !== i) outOfOrder += 1;
    expect(outOfOrder).toBe(0);
    expect(wakeups).toBeGreaterThanOrEqual(1);
    expect(wakeups).toBeLessThanOrEqual(RECORDS);
  });

  it('routes what a consumer throws to onError and keeps delivering', async () => {
    o = openObject('lib/bpf/test/k_ring.bpf.o');
    const errors: unknown[] = [];
    const seen: number[] = [];
    o.consumeRingBuffer(
      'events',
      (records) => {
        seen.push(records.length);
        throw new Error('consumer failed');
      },
      { onError: (e) => errors.push(e) },
    );
    o.testRun('submit', { data: Buffer.alloc(64), repeat: 3 });
    await until(() => seen.length >= 1, 5000);
    o.testRun('submit', { data: Buffer.alloc(64), repeat: 2 });
    await until(() => seen.length >= 2, 5000);
    expect(seen).toEqual([3, 2]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['consumer failed', 'consumer failed']);
  });

  it("without onError, a throwing consumer reaches process 'uncaughtException' and the process goes on", async () => {
    const c = child('ring-throw');
    children.push(c);
    const out = lines(c);
    expect(await exited(c, 20_000)).toBe(0);
    expect(out).toEqual([{ uncaught: 'boom 1' }, { uncaught: 'boom 2' }]);
  });

  it('an open consumer keeps its process alive; closing it lets the process end', async () => {
    const stay = child('ring-stay');
    children.push(stay);
    const stayOut = lines(stay);
    await until(() => stayOut.length > 0, 20_000);
    expect(stayOut).toEqual([{ ready: true }]);
    expect(await exited(stay, 1500)).toBe('timeout');

    const close = child('ring-close');
    children.push(close);
    const closeOut = lines(close);
    expect(await exited(close, 20_000)).toBe(0);
    expect(closeOut).toEqual([{ records: 5 }]);
  });
});
