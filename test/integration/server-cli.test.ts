// The `weft-collector` command: flags and their environment twins, the token file, where it
// listens, and a clean stop that tells clients why (1001) and closes the tables.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftClient } from '../../src/cli/client.js';
import { CloseCode } from '../../src/protocol/index.js';
import { link } from '../helpers/records.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[], env: Record<string, string> = {}): { p: ChildProcess; out: () => string; line: (re: RegExp) => Promise<RegExpMatchArray> } {
  const p = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/collector-main.ts', ...args], { env: { ...process.env, ...env } });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  return {
    p,
    out: () => out,
    line: async (re) => {
      for (let i = 0; i < 200; i++) {
        const m = re.exec(out);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no line matching ${re} in:\n${out}`);
    },
  };
}

describe('weft-collector command', () => {
  it('lists every flag with its environment variable in --help', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/collector/cli.ts', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const flag of ['listen', 'interfaces', 'token-file', 'links-map-size', 'flows-map-size', 'poll-interval', 'history', 'history-resolution', 'history-budget', 'figures-interval', 'tls-cert', 'tls-key', 'allowed-origins', 'include-self', 'max-message-bytes', 'max-client-buffer', 'user', 'no-privsep']) {
      expect(help).toContain(`--${flag}`);
      expect(help).toContain(`env: WEFT_${flag.toUpperCase().replace(/-/g, '_')}`);
    }
    expect(help).toMatch(/default: "127\.0\.0\.1:7317"/);
  });

  it('refuses bad values with a sentence and exit code 2', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/collector-main.ts', '--listen', 'nowhere'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--listen: "nowhere" is not HOST:PORT/);
    const e = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/collector-main.ts'], { encoding: 'utf8', env: { ...process.env, WEFT_FIGURES_INTERVAL: 'soon' } });
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/--figures-interval: "soon" is not a duration/);
  });

  it('creates a 0600 token, prints where it listens, serves, and stops cleanly on SIGTERM', async () => {
    const tokenFile = join(dir, 'state', 'token');
    const c = start(['--token-file', tokenFile], { WEFT_LISTEN: '127.0.0.1:0', WEFT_TEST_LINKS: JSON.stringify([link(1, { bytesSent: 123, bytesReceived: 456 })]) });
    try {
      await c.line(new RegExp(`new token written to ${tokenFile} \\(mode 0600\\)`));
      const [, url] = await c.line(/WebSocket (ws:\/\/127\.0\.0\.1:\d+\/ws)/);
      expect(c.out()).toMatch(/kernel test; BTF yes; ring buffer yes; tcx yes/);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);

      const client = await WeftClient.connect({ server: url!, token });
      const snap = client.next((m): m is Extract<typeof m, { type: 'snapshot' }> => m.type === 'snapshot');
      client.subscribe('s', { table: 'links' });
      expect((await snap).records.map((r) => ('bytesSent' in r ? [r.bytesSent, r.bytesReceived] : []))).toEqual([[123, 456]]);

      const closed = new Promise<{ code: number; reason: string }>((resolve) => client.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
      const error = client.next((m): m is Extract<typeof m, { type: 'error' }> => m.type === 'error' && m.code === 'shutting-down').catch((e: Error) => e);
      const exited = new Promise<number | null>((resolve) => c.p.once('exit', (code) => resolve(code)));
      c.p.kill('SIGTERM');
      const how = await closed;
      expect(how.code).toBe(CloseCode.GoingAway);
      expect(how.reason).toMatch(/collector stopped \(SIGTERM\)/);
      expect(((await error) as { message: string }).message).toMatch(/collector stopped \(SIGTERM\)/);
      expect(await exited).toBe(0);
      expect(c.out()).toMatch(/test tables closed\n[^]*weft-collector: stopped/);
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('reuses the token file on the next start', async () => {
    const tokenFile = join(dir, 'state', 'token');
    const c = start(['--token-file', tokenFile, '--listen', '127.0.0.1:0']);
    try {
      await c.line(new RegExp(`token from ${tokenFile}`));
      await c.line(/listening on/);
    } finally {
      c.p.kill('SIGINT');
    }
  });
});
