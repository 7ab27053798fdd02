// A weft process that attached TC is killed with SIGKILL; the next one starts with
// cleanupStaleTc(). tcx links vanish with the killed process by themselves; clsact filters
// survive it, and the cleanup removes exactly ours (and the clsact qdisc we created).
// The child processes keep their state files in a directory of this test, so that no other weft
// process on the machine cleans up after them before the test looks.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { WEFT_TC_HANDLE } from '../../src/collector/kernel/index.js';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';

const HANDLE = `0x${WEFT_TC_HANDLE.toString(16)}`;

const CHILD = ['--import', 'tsx', 'test/integration/kernel-child.ts'];
let STATE_DIR = '';
let env: NodeJS.ProcessEnv = {};

function child(...args: string[]): { proc: ChildProcess; next: () => Promise<unknown> } {
  return lines(spawn(process.execPath, [...CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env }));
}

function lines(proc: ChildProcess): { proc: ChildProcess; next: () => Promise<unknown> } {
  let buf = '';
  const queue: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  proc.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const v = JSON.parse(buf.slice(0, i)) as unknown;
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(v);
      else queue.push(v);
    }
  });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      if (queue.length) return resolve(queue.shift());
      const t = setTimeout(() => reject(new Error('child said nothing within 20 s')), 20_000);
      waiters.push((v) => {
        clearTimeout(t);
        resolve(v);
      });
    });
  return { proc, next };
}

async function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.on('exit', r));
  proc.kill('SIGKILL');
  await gone;
}

function tcOf(ns: string, dev: string) {
  const run = (...a: string[]) => execFileSync('ip', ['netns', 'exec', ns, 'tc', '-j', ...a], { encoding: 'utf8' });
  const filters = ['ingress', 'egress'].flatMap((dir) => {
    const out = run('filter', 'show', 'dev', dev, dir).trim();
    // Entries without options are the per-priority heads tc lists too.
    return (out ? (JSON.parse(out) as { options?: { handle?: string } }[]) : []).filter((f) => f.options);
  });
  return {
    ours: filters.filter((f) => f.options?.handle === HANDLE).length,
    others: filters.some((f) => f.options?.handle !== HANDLE),
    clsact: (JSON.parse(run('qdisc', 'show', 'dev', dev)) as { kind: string }[]).some((q) => q.kind === 'clsact'),
  };
}

/** Ids of loaded programs named `name` (the test programs' names are ours alone). */
function progIds(name: string): number[] {
  return (JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as { id: number; name?: string }[])
    .filter((p) => p.name === name)
    .map((p) => p.id);
}

describePrivileged('TC after a SIGKILLed collector', () => {
  let wire: Wire;
  const procs: ChildProcess[] = [];
  beforeAll(() => {
    STATE_DIR = mkdtempSync('/run/weft-test-tc-');
    env = { ...process.env, WEFT_TC_STATE_DIR: STATE_DIR };
    wire = createWire(22);
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await kill(p);
  });
  afterAll(() => {
    destroyAll();
    rmSync(STATE_DIR, { recursive: true, force: true });
  });

  it('tcx: the links go with the killed process, nothing is left', async () => {
    const before = new Set(progIds('udp_ingress'));
    const c = child('tc-attach', 'tcx', wire.b.path, wire.bIf);
    procs.push(c.proc);
    expect(await c.next()).toEqual({ attached: ['tcx', 'tcx'] });
    const mine = progIds('udp_ingress').filter((id) => !before.has(id));
    expect(mine.length).toBe(1);
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 0, others: false, clsact: false });
    // No state file: tcx leaves nothing that needs cleaning.
    expect(existsSync(`${STATE_DIR}/${c.proc.pid}.json`)).toBe(false);
    await kill(c.proc);
    // The kernel frees the program once its last link is gone (after an RCU grace period).
    const end = Date.now() + 5000;
    while (progIds('udp_ingress').some((id) => mine.includes(id)) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(progIds('udp_ingress').filter((id) => mine.includes(id))).toEqual([]);
  });

  it('clsact: the filters outlive the killed process; the next start removes them and our qdisc', async () => {
    const c = child('tc-attach', 'clsact', wire.b.path, wire.bIf);
    procs.push(c.proc);
    expect(await c.next()).toEqual({ attached: ['clsact', 'clsact'] });
    const stateFile = `${STATE_DIR}/${c.proc.pid}.json`;
    expect(existsSync(stateFile)).toBe(true);
    await kill(c.proc);
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 2, others: false, clsact: true });

    const next = child('tc-cleanup');
    procs.push(next.proc);
    const result = (await next.next()) as { processes: number[]; filtersRemoved: number; qdiscsRemoved: number; errors: string[] };
    expect(result.processes).toContain(c.proc.pid);
    expect(result.filtersRemoved).toBeGreaterThanOrEqual(2);
    expect(result.qdiscsRemoved).toBeGreaterThanOrEqual(1);
    expect(result.errors).toEqual([]);
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 0, others: false, clsact: false });
    expect(existsSync(stateFile)).toBe(false);
  });

  it('clsact: the cleanup keeps a qdisc another filter still uses, and filters of live processes', async () => {
    const live = child('tc-attach', 'clsact', wire.a.path, wire.aIf);
    procs.push(live.proc);
    expect(await live.next()).toEqual({ attached: ['clsact', 'clsact'] });

    const dead = child('tc-attach', 'clsact', wire.b.path, wire.bIf);
    procs.push(dead.proc);
    expect(await dead.next()).toEqual({ attached: ['clsact', 'clsact'] });
    await kill(dead.proc);
    // Someone else's filter arrives on the qdisc our dead process created.
    wire.b.exec('tc', ['filter', 'add', 'dev', wire.bIf, 'ingress', 'pref', '1', 'u32', 'match', 'u32', '0', '0']);

    try {
      const next = child('tc-cleanup');
      procs.push(next.proc);
      const result = (await next.next()) as { processes: number[]; errors: string[] };
      expect(result.processes).toContain(dead.proc.pid);
      expect(result.processes).not.toContain(live.proc.pid);
      expect(result.errors).toEqual([]);
      expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 0, others: true, clsact: true });
      expect(tcOf(wire.a.ns, wire.aIf)).toEqual({ ours: 2, others: false, clsact: true });
    } finally {
      // Only if it is still there: a cleanup that wrongly took it away, or a child that never
      // attached, would make this delete fail and hide the failure that says so.
      if (tcOf(wire.b.ns, wire.bIf).clsact) wire.b.exec('tc', ['qdisc', 'del', 'dev', wire.bIf, 'clsact']);
    }

    // The live one is killed too, and cleaned up by the next start.
    await kill(live.proc);
    const last = child('tc-cleanup');
    procs.push(last.proc);
    expect(((await last.next()) as { processes: number[] }).processes).toContain(live.proc.pid);
    expect(tcOf(wire.a.ns, wire.aIf)).toEqual({ ours: 0, others: false, clsact: false });
  });

  it("clsact: a new collector's first TC attachment cleans up by itself", async () => {
    const dead = child('tc-attach', 'clsact', wire.b.path, wire.bIf);
    procs.push(dead.proc);
    expect(await dead.next()).toEqual({ attached: ['clsact', 'clsact'] });
    await kill(dead.proc);
    expect(tcOf(wire.b.ns, wire.bIf).ours).toBe(2);
    const next = child('tc-attach', 'tcx', wire.a.path, wire.aIf);
    procs.push(next.proc);
    expect(await next.next()).toEqual({ attached: ['tcx', 'tcx'] });
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 0, others: false, clsact: false });
  });

  it('clsact: a collector that dies of an uncaught exception removes its filters and qdisc itself', async () => {
    const c = child('tc-exit', wire.b.path, wire.bIf);
    procs.push(c.proc);
    expect(await c.next()).toEqual({ attached: true });
    const code = c.proc.exitCode ?? (await new Promise((r) => c.proc.on('exit', r)));
    expect(code).toBe(1);
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 0, others: false, clsact: false });
    expect(existsSync(`${STATE_DIR}/${c.proc.pid}.json`)).toBe(false);
  });

  it("clsact: a collector that ran inside a named namespace is cleaned up from the root namespace", async () => {
    // `ip netns exec` runs the child with that namespace as its own: it records no path, only the
    // namespace's inode, which the cleanup finds again under /run/netns.
    const c = lines(wire.b.spawn(process.execPath, [...CHILD, 'tc-attach', 'clsact', '-', wire.bIf], { stdio: ['ignore', 'pipe', 'inherit'], env }));
    procs.push(c.proc);
    expect(await c.next()).toEqual({ attached: ['clsact', 'clsact'] });
    await kill(c.proc);
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 2, others: false, clsact: true });
    const next = child('tc-cleanup');
    procs.push(next.proc);
    const result = (await next.next()) as { processes: number[]; filtersRemoved: number; qdiscsRemoved: number };
    expect(result.processes).toContain(c.proc.pid);
    expect(tcOf(wire.b.ns, wire.bIf)).toEqual({ ours: 0, others: false, clsact: false });
  });
});
