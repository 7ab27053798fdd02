// Privilege separation's choices over memory tables (test/helpers/collector-main.ts): --user,
// giving up on a server process that keeps dying, a server that does not outlive its parent,
// --no-privsep and its environment twin, and users refused with a sentence.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processPrivileges } from '../../src/collector/privsep/process-status.js';
import { startCollector, type CollectorProcess } from '../helpers/collector-process.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-privsep-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MAIN = 'test/helpers/collector-main.ts';
const start = (args: string[], env: Record<string, string> = {}): CollectorProcess => startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), ...args], env, MAIN);

function listeners(port: number): number[] {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

const gone = async (pid: number): Promise<boolean> => {
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
};

describe('privilege separation modes', () => {
  it('runs the server as --user UID:GID, and the server does not outlive a killed parent', async () => {
    const c = start(['--user', '12345:23456']);
    try {
      const port = Number(new URL(await c.wsUrl()).port);
      const pid = Number((await c.line(/serving from process (\d+) as uid 12345 gid 23456/))[1]);
      const s = processPrivileges(pid);
      expect(s.uids).toEqual([12345, 12345, 12345, 12345]);
      expect(s.gids).toEqual([23456, 23456, 23456, 23456]);
      expect(listeners(port)).toEqual([pid]);
      c.p.kill('SIGKILL');
      expect(await gone(pid)).toBe(true);
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('gives up, closes the tables and exits 1 when the server process keeps dying', async () => {
    const c = start([]);
    try {
      let pid = Number((await c.line(/serving from process (\d+)/))[1]);
      for (let n = 1; n <= 3; n++) {
        process.kill(pid, 'SIGKILL');
        const again = new RegExp(`server process (\\d+) serving again`, 'g');
        const m = await c.line(new RegExp(`(?:[\\s\\S]*?server process (\\d+) serving again){${n}}`));
        pid = Number(m[1]);
        expect([...c.out().matchAll(again)].length).toBe(n);
      }
      process.kill(pid, 'SIGKILL');
      expect(await c.exited).toBe(1);
      expect(c.out()).toMatch(/ended \(SIGKILL\), 4 times within 60 s: giving up/);
      expect(c.out()).toMatch(/test tables closed/);
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('serves from the collector process itself with --no-privsep or WEFT_NO_PRIVSEP=1', async () => {
    for (const [args, env] of [[['--no-privsep'], {}], [[], { WEFT_NO_PRIVSEP: '1' }]] as const) {
      const c = start([...args], env);
      try {
        const port = Number(new URL(await c.wsUrl()).port);
        expect(listeners(port)).toEqual([c.p.pid]);
        expect(c.out()).not.toMatch(/serving from process/);
        c.p.kill('SIGTERM');
        expect(await c.exited).toBe(0);
      } finally {
        c.p.kill('SIGKILL');
      }
    }
  });

  it('serves https with a key only root can read: the parent reads it and hands it over', async () => {
    const key = join(dir, 'key.pem');
    copyFileSync(new URL('../fixtures/tls/key.pem', import.meta.url), key);
    const cert = new URL('../fixtures/tls/cert.pem', import.meta.url);
    chmodSync(key, 0o600);
    expect(statSync(key).uid).toBe(0);
    const c = start(['--tls-cert', cert.pathname, '--tls-key', key]);
    try {
      const url = (await c.line(/listening on (https:\/\/[^\s]+)/))[1]!;
      await c.line(/serving from process \d+ as uid 65534/);
      const body = await new Promise<string>((resolve, reject) => {
        get(`${url}/healthz`, { ca: readFileSync(cert) }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
      expect((JSON.parse(body) as { components: { server: { uid: number } } }).components.server.uid).toBe(65534);
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('says what is missing and closes the tables when setpriv cannot be found', async () => {
    const c = start([], { PATH: '/nonexistent' });
    expect(await c.exited).toBe(1);
    expect(c.out()).toMatch(/setpriv \(util-linux\) is needed to start the unprivileged server process; install it or run with --no-privsep/);
    expect(c.out()).toMatch(/test tables closed/);
  });

  it('refuses root or an unknown user with a sentence and exit code 2', () => {
    for (const [user, said] of [
      ['root', /--user: "root" is root/],
      ['no-such-user-weft', /--user: no user "no-such-user-weft"/],
    ] as const) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, '--user', user, '--token-file', join(dir, 'token')], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(said);
    }
  });
});
