// The collector's one port: HTTP (health, metrics, status, tickets, history) and the WebSocket at
// WS_PATH. Every socket is accepted, then either authenticated (bearer token, or a ticket bound
// to its Origin) or told why not and closed, so browsers see the reason too.
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  PROTOCOL_VERSION,
  WS_PATH,
  type ErrorCode,
  type FlowRecord,
  type HelloMessage,
  type KernelFeatures,
  type LinkRecord,
  type StatusResponse,
  type SubscriptionSpec,
  type TableName,
  type ValuesQueryMessage,
} from '../../protocol/index.js';
import { shape } from '../tables/aggregate.js';
import type { History } from '../tables/history.js';
import type { FlowTable, LinkTable } from '../tables/types.js';
import { checkBearer } from './auth.js';
import { handleHttp } from './http-api.js';
import { createMetrics } from './metrics.js';
import { OriginPolicy } from './origins.js';
import { Session, refuse, type SessionContext } from './session.js';
import { Subscriptions } from './subscriptions.js';
import { TicketStore } from './tickets.js';

export interface ServerOptions {
  host: string;
  port: number;
  /** A socket already listening (bound by a privileged parent); host and port then only name it. */
  listening?: NetServer;
  token: string;
  tls?: { cert: string | Buffer; key: string | Buffer };
  allowedOrigins: string[];
  tables: { links: LinkTable; flows: FlowTable };
  history?: { links: History<LinkRecord>; flows: History<FlowRecord> };
  /** Whatever each part reports about itself, shown on /healthz; numbers also go to /metrics. */
  health: Record<string, () => unknown>;
  features: KernelFeatures;
  version: string;
  node: string;
  figuresIntervalMs?: number;
  heartbeatMs?: number;
  heartbeatTimeoutMs?: number;
  maxMessageBytes?: number;
  maxBufferedBytes?: number;
  ticketTtlMs?: number;
  maxSubscriptions?: number;
}

export interface WeftServer {
  readonly port: number;
  /** ws:// or wss:// URL of the socket. */
  readonly wsUrl: string;
  readonly httpUrl: string;
  clients(): number;
  /** Tells every client why (close 1001) and stops listening. */
  close(reason?: string): Promise<void>;
}

export const SERVER_DEFAULTS = {
  figuresIntervalMs: 2000,
  heartbeatMs: 15_000,
  heartbeatTimeoutMs: 45_000,
  maxMessageBytes: 64 * 1024,
  maxBufferedBytes: 8 * 1024 * 1024,
  ticketTtlMs: 30_000,
  // The plugin shares one socket among every panel of a data source in a browser tab.
  maxSubscriptions: 256,
};

/** Numeric leaves of a health report, as fact names like `maps_links_fill`. */
export function numericFacts(v: unknown, prefix = '', out: Record<string, number> = {}, depth = 0): Record<string, number> {
  if (typeof v === 'number' && Number.isFinite(v)) out[prefix || 'value'] = v;
  else if (typeof v === 'boolean') out[prefix || 'value'] = v ? 1 : 0;
  else if (v && typeof v === 'object' && !Array.isArray(v) && depth < 4) {
    for (const [k, x] of Object.entries(v)) numericFacts(x, prefix ? `${prefix}_${k}` : k, out, depth + 1);
  }
  return out;
}

export async function startServer(options: ServerOptions): Promise<WeftServer> {
  const o = { ...SERVER_DEFAULTS, ...options };
  const started = Date.now();
  const tables: Record<TableName, LinkTable | FlowTable> = o.tables;
  const origins = new OriginPolicy(o.allowedOrigins);
  const tickets = new TicketStore(o.ticketTtlMs);
  const subscriptions = new Subscriptions(tables, { figuresIntervalMs: o.figuresIntervalMs, maxBufferedBytes: o.maxBufferedBytes });
  const sockets = new Set<WebSocket>();

  const sizes = () => ({ links: o.tables.links.size(), flows: o.tables.flows.size() });
  const reports = (): { ok: boolean; components: Record<string, unknown> } => {
    let ok = true;
    const components: Record<string, unknown> = {};
    for (const [name, provider] of Object.entries(o.health)) {
      try {
        components[name] = provider();
      } catch (e) {
        ok = false;
        components[name] = { error: (e as Error).message };
      }
    }
    return { ok, components };
  };

  const { registry, counters } = createMetrics(
    {
      links: () => o.tables.links.records(),
      tableSizes: sizes,
      clients: () => sockets.size,
      subscriptions: () => subscriptions.subscriptionCount(),
      views: () => subscriptions.viewCount(),
      historyBytes: (): Record<string, number> => (o.history ? { links: o.history.links.bytes(), flows: o.history.flows.bytes() } : {}),
      components: () => Object.fromEntries(Object.entries(reports().components).map(([k, v]) => [k, numericFacts(v)])),
    },
    () => subscriptions.stats.fellBehind,
  );
  const rejected = (code: ErrorCode): void => counters.rejected.inc({ code });

  const hello = (): HelloMessage => ({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    server: { name: 'weft-collector', version: o.version, node: o.node },
    features: o.features,
    tables: sizes(),
    heartbeatMs: o.heartbeatMs,
  });

  const records = (spec: SubscriptionSpec, range?: { from: number; to: number }): (LinkRecord | FlowRecord)[] => {
    const table = tables[spec.table];
    if (!range) return shape(spec.table, table.records() as never[], spec);
    const h = o.history?.[spec.table] as History<{ id: string }> | undefined;
    const moved = h ? h.query(range.from, range.to, table.records()) : [];
    return shape(spec.table, moved as never[], spec);
  };

  const values = (field: ValuesQueryMessage['field']): string[] => {
    const seen = new Set<string>();
    const take = (e: Record<string, unknown> | undefined): void => {
      const v = e?.[field];
      if (typeof v === 'string' && v !== '') seen.add(v);
    };
    for (const l of o.tables.links.records()) {
      take(l.client as unknown as Record<string, unknown>);
      take(l.server as unknown as Record<string, unknown>);
    }
    for (const f of o.tables.flows.records()) {
      take(f.srcEndpoint as unknown as Record<string, unknown>);
      take(f.dstEndpoint as unknown as Record<string, unknown>);
    }
    return [...seen].sort();
  };

  const ctx: SessionContext = {
    subscriptions,
    hello,
    query: (msg) => {
      const { type: _type, id, from, to, ...spec } = msg;
      return { type: 'result', id, table: spec.table, from, to, records: records(spec, { from, to }) };
    },
    values,
    maxMessageBytes: o.maxMessageBytes,
    heartbeatMs: o.heartbeatMs,
    heartbeatTimeoutMs: o.heartbeatTimeoutMs,
    maxSubscriptions: o.maxSubscriptions,
    maxBufferedBytes: o.maxBufferedBytes,
    sent: (type, bytes) => {
      counters.sent.inc({ type });
      counters.sentBytes.inc(bytes);
    },
  };

  // Bytes waiting in client sockets: what slow readers cost the collector.
  const buffers = (): { max: number; total: number } => {
    let max = 0;
    let total = 0;
    for (const ws of sockets) {
      max = Math.max(max, ws.bufferedAmount);
      total += ws.bufferedAmount;
    }
    return { max, total };
  };
  const status = (): StatusResponse => ({ protocol: PROTOCOL_VERSION, version: o.version, node: o.node, features: o.features, tables: sizes() });
  const health = (): { ok: boolean; body: unknown } => {
    const r = reports();
    const history = o.history ? Object.fromEntries((['links', 'flows'] as const).map((t) => [t, { bytes: o.history![t].bytes(), intervals: o.history![t].layout().length }])) : undefined;
    return {
      ok: r.ok,
      body: { status: r.ok ? 'ok' : 'degraded', node: o.node, version: o.version, protocol: PROTOCOL_VERSION, uptimeSeconds: Math.round((Date.now() - started) / 1000), features: o.features, tables: sizes(), clients: sockets.size, clientBuffers: buffers(), viewErrors: subscriptions.stats.errors, history, components: r.components },
    };
  };

  /** Who may open this socket: an allowed Origin (when one is sent), then a token or a ticket. */
  const authorize = (req: IncomingMessage, url: URL): { code: ErrorCode; message: string } | undefined => {
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.allows(origin)) return { code: 'forbidden-origin', message: `origin ${origin} is not allowed (--allowed-origins)` };
    if (req.headers.authorization !== undefined) {
      const v = checkBearer(req, o.token);
      return v.ok ? undefined : { code: 'unauthorized', message: v.message };
    }
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null) {
      const r = tickets.redeem(ticket, origin);
      return r.ok ? undefined : { code: 'bad-ticket', message: r.message };
    }
    return { code: 'unauthorized', message: 'no credentials: send "Authorization: Bearer TOKEN" or open the socket with ?ticket= from POST /api/ticket' };
  };

  // ws refuses frames over maxPayload before buffering them; below that our own limit answers
  // with an error message the client can read.
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxMessageBytes * 4, perMessageDeflate: false });

  const server: Server = o.tls ? createHttpsServer({ cert: o.tls.cert, key: o.tls.key }) : createHttpServer();
  server.on('request', (req, res) => {
    handleHttp({ token: o.token, origins, tickets, registry, status, health, records, rejected }, req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: e.message } }));
    });
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://collector');
    } catch {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    if (url.pathname !== WS_PATH) {
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe WebSocket is at ${WS_PATH}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      const denied = authorize(req, url);
      if (denied) {
        rejected(denied.code);
        refuse(ws, denied.code, denied.message);
        return;
      }
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      new Session(ws, ctx);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (o.listening) server.listen(o.listening, listening);
    else server.listen(o.port, o.host, listening);
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;

  return {
    port,
    wsUrl: `${o.tls ? 'wss' : 'ws'}://${hostForUrl}:${port}${WS_PATH}`,
    httpUrl: `${o.tls ? 'https' : 'http'}://${hostForUrl}:${port}`,
    clients: () => sockets.size,
    async close(reason = 'collector shutting down') {
      subscriptions.close();
      const closed = [...sockets].map((ws) => new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        refuse(ws, 'shutting-down', reason);
      }));
      // A client that does not answer the close handshake is cut off after a second.
      await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 1000).unref())]);
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
