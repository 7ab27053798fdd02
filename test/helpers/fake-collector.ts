// Stand-ins for a broken or hostile collector on 127.0.0.1, and the `weft` command run against
// them, for the tests of how the client copes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { LinkRecord } from '../../src/protocol/index.js';

export const hello = (over: Record<string, unknown> = {}): string =>
  JSON.stringify({ type: 'hello', protocol: 1, server: { name: 'weft-collector', version: 't', node: 'n' }, features: {}, tables: { links: 0, flows: 0 }, heartbeatMs: 15_000, ...over });

export const snapshot = (sub: string, records: unknown, over: Record<string, unknown> = {}): string => JSON.stringify({ type: 'snapshot', sub, seq: 1, table: 'links', time: Date.now(), records, ...over });

export interface Fake {
  url: string;
  close(): Promise<void>;
}

const started = new Set<Fake>();

/** For a test file: a token file for weft, and every fake collector closed after each test. */
export function useFakes(token = 't'): { tokenFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'weft-fake-'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${token}\n`);
  afterEach(async () => {
    await Promise.all([...started].map((f) => f.close()));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { tokenFile };
}

/** A WebSocket server that hands each connection to `onConnection`; `subscribed` is called with each subscribe or query. */
export async function fakeCollector(onConnection: (ws: WebSocket, subscribed: (fn: (m: { type: string; sub?: string; id?: string }) => void) => void) => void): Promise<Fake> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (ws) =>
    onConnection(ws, (fn) =>
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string };
        if (m.type === 'subscribe' || m.type === 'query') fn(m);
      }),
    ),
  );
  await once(server, 'listening');
  const fake: Fake = {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      if (!started.delete(fake)) return;
      for (const c of server.clients) c.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  started.add(fake);
  return fake;
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `weft ARGS` run from the sources, killed after `limitMs` (a hang shows as signal SIGKILL). */
export function weft(args: string[], opts: { limitMs?: number; onStart?: (p: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/weft.ts', ...args], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += d));
    p.stderr!.on('data', (d) => (stderr += d));
    const guard = setTimeout(() => p.kill('SIGKILL'), opts.limitMs ?? 20_000);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    opts.onStart?.(p);
  });
}

export const linkRecord = (n: number, name = `client-${n}`): LinkRecord => ({
  id: `l${String(n).padStart(6, '0')}`,
  client: { ip: `10.51.${(n >> 8) & 255}.${n & 255}`, kind: 'process', name },
  server: { ip: '10.51.255.1', port: 8080, kind: 'process', name: 'web' },
  protocol: 'tcp',
  bytesSent: n,
  bytesReceived: 2 * n,
  sendRate: 0,
  receiveRate: 0,
  connections: { active: 1, closed: 0, failed: 0 },
  retransmits: 0,
  firstSeen: 1_700_000_000_000,
  lastSeen: 1_700_000_000_000,
});
