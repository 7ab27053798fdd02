// SIGTERM at awkward moments (while the collector is still starting, several at once) and SIGHUP.
// Each way it stops as it would from a single SIGTERM once serving: exit 0, and none of its
// processes (server, resolver, conntrack in the watched namespace) left running.
import { afterAll, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePrivileged } from '../helpers/privileged.js';
import { createHost, destroyAll, ip } from '../helpers/netns.js';
import { startCollector } from '../helpers/collector-process.js';
import WebSocket from 'ws';

const dir = mkdtempSync(join(tmpdir(), 'weft-signals-'));
afterAll(() => {
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

/** Processes running inside `ns`, once (bounded) the ones on their way out have gone. */
async function processesIn(ns: string): Promise<string> {
  let pids = '';
  for (let i = 0; i < 30; i++) {
    pids = ip('netns', 'pids', ns).trim();
    if (pids === '') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return pids;
}

describePrivileged('weft-collector and SIGTERM', () => {
  it('stops cleanly on a SIGTERM that comes while it is starting', async () => {
    const host = createHost('w14g');
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--interfaces', `${host.ns}:lo`]);
    try {
      // The resolver and its conntrack in the namespace run; the programs and the server are not there yet.
      await c.line(/resolve: resolver process \d+/);
      c.p.kill('SIGTERM');
      expect(await c.exited, c.out()).toBe(0);
      expect(c.out()).toMatch(/SIGTERM while starting[^]*stopped/);
      expect(await processesIn(host.ns)).toBe('');
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('is not cut short by more SIGTERMs while it stops', async () => {
    const host = createHost('w14g');
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--interfaces', `${host.ns}:lo`]);
    try {
      const url = await c.wsUrl();
      // A client that never answers the close keeps the stop going for a second (the server's
      // wait for its clients), so the next signals come while it stops.
      const ws = new WebSocket(url, { headers: { authorization: `Bearer ${readFileSync(join(dir, 'token'), 'utf8').trim()}` } });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      (ws as unknown as { _socket: Socket })._socket.pause();
      c.p.kill('SIGTERM');
      // Signals sent together arrive as one: the next ones go once it is stopping.
      await c.line(/SIGTERM: closing clients/);
      c.p.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 50));
      c.p.kill('SIGTERM');
      expect(await c.exited, c.out()).toBe(0);
      expect(c.out()).toMatch(/stopped/);
      expect(await processesIn(host.ns)).toBe('');
      ws.terminate();
    } finally {
      c.p.kill('SIGKILL');
    }
  });

  it('stops cleanly on SIGHUP, as on SIGTERM', async () => {
    const host = createHost('w14g');
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--interfaces', `${host.ns}:lo`]);
    try {
      await c.wsUrl();
      c.p.kill('SIGHUP');
      expect(await c.exited, c.out()).toBe(0);
      expect(c.out()).toMatch(/SIGHUP: closing clients[^]*stopped/);
      expect(await processesIn(host.ns)).toBe('');
    } finally {
      c.p.kill('SIGKILL');
    }
  });
});
