// The kernel tables failing to open at start: the error comes back and the process ends, with no
// child process (resolver, conntrack) left holding it open.
import { afterAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createHost, destroyAll } from '../helpers/netns.js';

afterAll(() => destroyAll());

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

describePrivileged('kernel tables that fail to open', () => {
  it('end the process after a links program that cannot load, the resolver closed', async () => {
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
});
