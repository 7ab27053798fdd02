// The real Weft collector server (src/collector/server) over in-memory tables the test fills, and helpers to
// make link records.
import { MemoryTable } from '../../../src/collector/tables/memory-table.js';
import { startServer, type WeftServer } from '../../../src/collector/server/server.js';
import { History } from '../../../src/collector/tables/history.js';
import { flowFigures, linkFigures } from '../../../src/collector/tables/history-figures.js';
import type { FlowRecord, KernelFeatures, LinkRecord } from '../../../src/protocol/index.js';

export const FEATURES: KernelFeatures = {
  kernelRelease: '6.18.0-test',
  btf: true,
  ringbuf: true,
  tcx: true,
  bpfStats: false,
  tracepoints: { 'sock:inet_sock_set_state': true, 'tcp:tcp_probe': true, 'tcp:tcp_retransmit_skb': false },
  kprobes: false,
};

export interface TestCollector {
  links: MemoryTable<LinkRecord>;
  flows: MemoryTable<FlowRecord>;
  server: WeftServer;
  /** The history window; the test samples it when it wants an interval closed. */
  history: { links: History<LinkRecord>; flows: History<FlowRecord> };
  httpUrl: string;
  close(): Promise<void>;
}

export async function startTestCollector(token: string, allowedOrigins = 'http://localhost:3000', links: LinkRecord[] = []): Promise<TestCollector> {
  const linkTable = new MemoryTable<LinkRecord>(links);
  const flowTable = new MemoryTable<FlowRecord>();
  const start = Date.now() - 60_000;
  const history = { links: new History(linkFigures, { resolutionMs: 1000 }, start), flows: new History(flowFigures, { resolutionMs: 1000 }, start) };
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    token,
    allowedOrigins: [allowedOrigins],
    tables: { links: linkTable, flows: flowTable },
    history,
    health: {},
    features: FEATURES,
    version: '0.1.0',
    node: 'test-node',
    figuresIntervalMs: 100,
  });
  return { links: linkTable, flows: flowTable, server, history, httpUrl: server.httpUrl, close: () => server.close() };
}

export function linkRecord(id: string, clientIp: string, serverIp: string, bytesSent: number, bytesReceived: number): LinkRecord {
  return {
    id,
    client: { ip: clientIp, netns: 'ns-a', process: 'client', pid: 10, kind: 'process' },
    server: { ip: serverIp, port: 8080, netns: 'ns-b', process: 'server', pid: 20, kind: 'process', namespace: 'shop' },
    protocol: 'tcp',
    bytesSent,
    bytesReceived,
    sendRate: 0,
    receiveRate: 0,
    connections: { active: 1, closed: 0, failed: 0 },
    retransmits: 0,
    firstSeen: Date.now(),
    lastSeen: Date.now(),
  };
}
