// The collector as a service: given its two tables and what reports on their health, it keeps
// their history and serves them. Where the tables come from (the kernel, or a test) is the
// caller's business.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import type { FlowRecord, KernelFeatures, LinkRecord } from '../protocol/index.js';
import type { CollectorConfig } from './config.js';
import { startServer, type WeftServer } from './server/server.js';
import { History } from './tables/history.js';
import { flowFigures, linkFigures } from './tables/history-figures.js';
import { ExcludingTable, isOwnFlow, isOwnLink } from './tables/self-filter.js';
import type { FlowTable, LinkTable } from './tables/types.js';

export interface CollectorParts {
  links: LinkTable;
  flows: FlowTable;
  /** What each part says about itself (map fill, losses, attached programs …), for /healthz and /metrics. */
  health: Record<string, () => unknown>;
  features: KernelFeatures;
  /** Detaches and frees what the tables hold. */
  close(): Promise<void> | void;
}

export interface RunningCollector {
  server: WeftServer;
  /** Tells clients why (1001), stops sampling, closes the tables. */
  close(reason?: string): Promise<void>;
}

/** How the unprivileged server process runs the service over what its parent handed it. */
export interface ServeOptions {
  /** Listening socket bound by the parent (else config.host:config.port is bound here). */
  listening?: NetServer;
  /** PEM contents read by the parent (else read from config.tls's files). */
  tls?: { cert: string; key: string };
  /** Other processes whose connections are the collector's own (the privileged parent). */
  ownPids?: number[];
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function runCollector(config: CollectorConfig, token: string, parts: CollectorParts, serve: ServeOptions = {}): Promise<RunningCollector> {
  // Known once listening (config.port may be 0: any free port).
  let port = config.port;
  const pids = [process.pid, ...(serve.ownPids ?? [])];
  const own = {
    links: config.includeSelf ? undefined : new ExcludingTable<LinkRecord>(parts.links, (r) => pids.some((pid) => isOwnLink(r, port, pid))),
    flows: config.includeSelf ? undefined : new ExcludingTable<FlowRecord>(parts.flows, (r) => isOwnFlow(r, port)),
  };
  const links = own.links ?? parts.links;
  const flows = own.flows ?? parts.flows;
  const history = { links: new History(linkFigures, config.history), flows: new History(flowFigures, config.history) };
  const sampler = setInterval(() => {
    const now = Date.now();
    history.links.sample(links.records(), now);
    history.flows.sample(flows.records(), now);
  }, config.history.resolutionMs);
  sampler.unref();

  const server = await startServer({
    host: config.host,
    port: config.port,
    ...(serve.listening ? { listening: serve.listening } : {}),
    token,
    ...(serve.tls ? { tls: serve.tls } : config.tls ? { tls: { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) } } : {}),
    allowedOrigins: config.allowedOrigins,
    tables: { links, flows },
    history,
    health: parts.health,
    features: parts.features,
    version: VERSION,
    node: hostname(),
    figuresIntervalMs: config.figuresIntervalMs,
    maxMessageBytes: config.maxMessageBytes,
    maxBufferedBytes: config.maxClientBufferBytes,
  });
  port = server.port;

  return {
    server,
    async close(reason = 'collector shutting down') {
      clearInterval(sampler);
      await server.close(reason);
      own.links?.close();
      own.flows?.close();
      await parts.close();
    },
  };
}
