// The conntrack processes the resolver starts per watched namespace never outlive the collector:
// a SIGKILLed collector leaves no process behind (conntrack, server, resolver), so deleting a
// namespace it watched frees it and its veths. A watched namespace deleted while the collector runs
// is let go of at once, and watched again when one of that name is made. Without setpriv they cannot be tied to it, and the
// collector says so but still watches.
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePrivileged } from '../helpers/privileged.js';
import { createHost, destroyAll, destroyHost, ip, sh } from '../helpers/netns.js';
import { startCollector } from '../helpers/collector-process.js';

const dir = mkdtempSync(join(tmpdir(), 'w14n-'));
afterAll(() => {
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  pid: number;
  /** Start time in clock ticks since boot: tells a pid from a later process that reuses it. */
  start: string;
  args: string;
}

function stat(pid: number): { state: string; start: string } | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { state: fields[0]!, start: fields[19]! };
  } catch {
    return undefined;
  }
}

/** Every process below `pid`, whichever of its threads started it. */
function descendants(pid: number): Proc[] {
  const out: Proc[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean).map(Number)) {
      const s = stat(c);
      if (!s) continue;
      let args = '';
      try {
        args = readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        // gone meanwhile
      }
      out.push({ pid: c, start: s.start, args }, ...descendants(c));
    }
  }
  return out;
}

/** Still running (a zombie has let go of everything it held). */
const running = (p: Proc): boolean => {
  const s = stat(p.pid);
  return s !== undefined && s.start === p.start && s.state !== 'Z';
};

/** Whether `f` held once within `ms` (not asked again: what it saw may be gone by then). */
async function until(f: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (f()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A conntrack runs in `ns`: other processes pass through it too (the resolver lists its addresses). */
function conntrackIn(ns: string): boolean {
  return ip('netns', 'pids', ns)
    .split('\n')
    .filter(Boolean)
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conntrack';
      } catch {
        return false;
      }
    });
}

const linkExists = (name: string): boolean => {
  try {
    ip('link', 'show', name);
    return true;
  } catch {
    return false;
  }
};

/** A veth from the root namespace into `ns`: it lives as long as the namespace does. */
function vethInto(ns: string): string {
  const outside = `${ns}r`;
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'w14nin', 'netns', ns);
  return outside;
}

function cleanUp(procs: Proc[], links: string[]): void {
  for (const p of procs) if (running(p)) process.kill(p.pid, 'SIGKILL');
  for (const l of links) if (linkExists(l)) ip('link', 'del', l);
}

describePrivileged('resolve: conntrack processes end with the collector', () => {
  it('a SIGKILLed collector leaves no process behind, and its watched namespace can be freed', async () => {
    const host = createHost('w14n');
    const outside = vethInto(host.ns);
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--interfaces', `${host.ns}:lo`]);
    let kids: Proc[] = [];
    try {
      await c.wsUrl();
      kids = descendants(c.p.pid!);
      // The server, the resolver, and conntrack in our namespace and in the watched one.
      expect(kids.filter((k) => k.args.startsWith('conntrack -E')).length, JSON.stringify(kids)).toBe(2);
      expect(kids.filter((k) => /server-child|resolver-child/.test(k.args)).length, JSON.stringify(kids)).toBe(2);
      expect(conntrackIn(host.ns)).toBe(true);

      c.p.kill('SIGKILL');
      await c.exited;
      await until(() => !kids.some(running), 5000);
      expect(kids.filter(running)).toEqual([]);
      // An address scan the resolver started after the list was taken (nsenter ip, every few
      // seconds) may take a moment to end; a conntrack would stay.
      expect(await until(() => ip('netns', 'pids', host.ns).trim() === '', 2000), ip('netns', 'pids', host.ns)).toBe(true);

      destroyHost(host);
      expect(await until(() => !linkExists(outside), 10_000)).toBe(true);
    } finally {
      c.p.kill('SIGKILL');
      cleanUp(kids, [outside]);
    }
  });

  it('without setpriv on PATH: said once on stderr, and conntrack still watches the namespace', async () => {
    const host = createHost('w14n');
    // A PATH with the tools the watcher runs, and no setpriv.
    const bin = mkdtempSync(join(dir, 'bin-'));
    for (const tool of ['nsenter', 'conntrack']) symlinkSync(sh('sh', ['-c', `command -v ${tool}`]).trim(), join(bin, tool));
    const script = `
      import { ConntrackWatcher } from './src/collector/resolve/nat/conntrack-watcher.ts';
      const c = new ConntrackWatcher({ netns: [process.env.W14N_NETNS], log: (l) => console.error(l) });
      c.start();
      process.on('SIGTERM', () => { c.close(); process.exit(0); });
    `;
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, PATH: bin, W14N_NETNS: host.path },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    const exited = new Promise((r) => p.once('exit', r));
    try {
      expect(await until(() => conntrackIn(host.ns), 15_000), err).toBe(true);
      // Running for a while, not failing and being restarted.
      await new Promise((r) => setTimeout(r, 1000));
      expect(err).toMatch(/^nat: setpriv \(util-linux\) not found: the conntrack processes will outlive this collector/m);
      expect(err).not.toMatch(/ended|failed|cannot run/);
      expect(err.trim().split('\n')).toHaveLength(1);
    } finally {
      p.kill('SIGTERM');
      await exited;
      // Nothing else runs in a namespace this test made: whatever is left there is ours.
      for (const pid of ip('netns', 'pids', host.ns).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      destroyHost(host);
    }
  });

  it('a watched namespace deleted while the collector runs is freed, and watched again when made anew', async () => {
    const host = createHost('w14n');
    const outside = vethInto(host.ns);
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--interfaces', `${host.ns}:lo`]);
    try {
      await c.wsUrl();
      expect(await until(() => conntrackIn(host.ns), 5000)).toBe(true);

      destroyHost(host);
      expect(await until(() => !linkExists(outside), 10_000), c.out()).toBe(true);
      await c.line(/nat: \/run\/netns\/\S+: gone: its conntrack is stopped/);

      // The same name again: a new namespace, watched within the follow interval.
      ip('netns', 'add', host.ns);
      expect(await until(() => conntrackIn(host.ns), 10_000), c.out()).toBe(true);
      await c.line(/nat: \/run\/netns\/\S+: there: watching it/);

      c.p.kill('SIGTERM');
      expect(await c.exited, c.out()).toBe(0);
      // A lookup the resolver had under way may take a moment to finish; a conntrack would stay.
      expect(await until(() => ip('netns', 'pids', host.ns).trim() === '', 2000)).toBe(true);
    } finally {
      c.p.kill('SIGKILL');
      try {
        // Nothing else runs in a namespace this test made: whatever is left there is ours.
        for (const pid of ip('netns', 'pids', host.ns).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
        ip('netns', 'del', host.ns);
      } catch {
        // deleted above and not made again
      }
      cleanUp([], [outside]);
    }
  });
});
