// Starting on the kernel with something wrong: tables that fail to open end the process (no child
// process, resolver or conntrack, left holding it open); --interfaces that match nothing are named
// at start.
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePrivileged } from '../helpers/privileged.js';
import { createHost, destroyAll } from '../helpers/netns.js';
import { startCollector } from '../helpers/collector-process.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-startup-'));
afterAll(() => {
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `code` (TypeScript, from the repository root) and resolves with its exit code and output; null when it had to be killed. */
function run(code: string, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, out });
    });
  });
}

describePrivileged('starting on the kernel with something wrong', () => {
  it('ends the process after a links program that cannot load, the resolver closed', async () => {
    const host = createHost('w14s');
    const r = await run(
      `import { openKernelTables } from './src/collector/tables/kernel-tables.ts';
       import { collectorCommand, toConfig } from './src/collector/config.ts';
       const config = { ...toConfig(collectorCommand().parse(['node', 'x', '--interfaces', '${host.ns}:lo']).opts()), linksMapSize: 2 ** 31 };
       openKernelTables(config).then(() => console.log('opened'), (e) => console.log('failed: ' + e.message));`,
      20_000,
    );
    expect(r.out).toMatch(/failed: .*link_conns/);
    expect(r.code, `still running 20 s after the error; it said:\n${r.out}`).toBe(0);
  });

  it('names the --interfaces that match nothing at start, and serves', async () => {
    const host = createHost('w14s');
    const missing = `${host.ns}x`;
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--interfaces', `${host.ns}:lo,${host.ns}:nosuch*,${missing}:eth0`]);
    try {
      await c.wsUrl();
      expect(c.out()).toContain(`flows: "${host.ns}:nosuch*": no interface matches yet; attached when it appears`);
      expect(c.out()).toContain(`flows: "${missing}:eth0": no network namespace ${missing} in /run/netns yet; attached when it appears`);
      expect(c.out()).not.toContain(`"${host.ns}:lo"`);
      c.p.kill('SIGTERM');
      expect(await c.exited).toBe(0);
    } finally {
      c.p.kill('SIGKILL');
    }
  });
});
