// A collector service over memory tables the test feeds, on 127.0.0.1 and a free port.
import WebSocket from 'ws';
import { startServer, type ServerOptions, type WeftServer } from '../../src/collector/server/server.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { FlowRecord, KernelFeatures, LinkRecord, ServerMessage } from '../../src/protocol/index.js';

export const TOKEN = 'test-token-0123456789abcdef';

export const FEATURES: KernelFeatures = { kernelRelease: 'test', btf: true, ringbuf: true, tcx: true, bpfStats: false, tracepoints: { 'sock:inet_sock_set_state': true }, kprobes: false };

export interface TestServer {
  server: WeftServer;
  links: MemoryTable<LinkRecord>;
  flows: MemoryTable<FlowRecord>;
}

export async function startTestServer(over: Partial<ServerOptions> = {}): Promise<TestServer> {
  const links = new MemoryTable<LinkRecord>();
  const flows = new MemoryTable<FlowRecord>();
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    allowedOrigins: ['https://grafana.test'],
    tables: { links, flows },
    health: {},
    features: FEATURES,
    version: '0.0.0-test',
    node: 'test-node',
    ...over,
  });
  return { server, links, flows };
}

/** A raw socket that records every message and how it closed. */
export interface RawSocket {
  ws: WebSocket;
  messages: ServerMessage[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<void>;
  next(pred: (m: ServerMessage) => boolean, timeoutMs?: number): Promise<ServerMessage>;
}

export function rawSocket(url: string, headers: Record<string, string> = {}): RawSocket {
  const ws = new WebSocket(url, { headers });
  const messages: ServerMessage[] = [];
  const waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as ServerMessage;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    opened,
    next(pred, timeoutMs = 5000) {
      const seen = messages.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${messages.map((m) => m.type).join(',')}`)), timeoutMs);
        waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
      });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
