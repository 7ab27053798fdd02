// The plain-HTTP side of the port: health, metrics, status, tickets and history for clients that
// cannot hold a socket. Everything but /healthz needs the bearer token.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { ErrorCode, StatusResponse, SubscriptionSpec, TableName, TicketResponse } from '../../protocol/index.js';
import { checkBearer } from './auth.js';
import type { OriginPolicy } from './origins.js';
import type { TicketStore } from './tickets.js';
import { parseRange, parseSpec } from './validate.js';

export interface HttpApiContext {
  token: string;
  origins: OriginPolicy;
  tickets: TicketStore;
  registry: Registry;
  status(): StatusResponse;
  health(): { ok: boolean; body: unknown };
  records(spec: SubscriptionSpec, range?: { from: number; to: number }): unknown[];
  rejected(code: ErrorCode): void;
}

const MAX_BODY = 4096;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function fail(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  json(res, status, { error: { code, message } });
}

/**
 * The body as text, or undefined when it is over MAX_BODY. A body too large is still read to its
 * end, and dropped: a socket closed on unread data would reset the connection before the client
 * read why. The server's request timeout bounds how long that takes.
 */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A query parameter as a number, NaN unless written as one: Number() reads "" as 0 and "0x10" as 16. */
function epochMs(v: string | null): number {
  return v !== null && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v) ? Number(v) : NaN;
}

/** Query parameters as a subscription spec: aggregate, top and the filter fields. */
function specFromQuery(table: TableName, q: URLSearchParams): SubscriptionSpec | string {
  const filter: Record<string, unknown> = {};
  const v: Record<string, unknown> = { table, filter };
  for (const [k, val] of q) {
    if (k === 'from' || k === 'to') continue;
    if (k === 'aggregate') v.aggregate = val;
    else if (k === 'top' || k === 'port') (k === 'top' ? v : filter)[k] = /^\d+$/.test(val) ? Number(val) : val;
    else filter[k] = val;
  }
  return parseSpec(v);
}

/**
 * Until the answers before it on its connection are written, a pipelined request is not answered:
 * Node would hold every answer a client asked for without reading, each up to a whole table.
 */
function turn(res: ServerResponse): Promise<void> {
  return res.socket ? Promise.resolve() : new Promise((resolve) => res.once('socket', () => resolve()));
}

export async function handleHttp(ctx: HttpApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  await turn(res);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://collector');
  } catch {
    return fail(res, 400, 'bad-request', 'request target is not a URL path');
  }
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /healthz') {
    const h = ctx.health();
    return json(res, h.ok ? 200 : 503, h.body);
  }
  const known = ['GET /metrics', 'GET /api/status', 'POST /api/ticket', 'GET /api/links', 'GET /api/flows'];
  if (!known.includes(route)) return fail(res, 404, 'not-found', `no route ${route}; see docs/protocol.md`);
  const auth = checkBearer(req, ctx.token);
  if (!auth.ok) {
    ctx.rejected('unauthorized');
    res.setHeader('www-authenticate', 'Bearer');
    return fail(res, 401, 'unauthorized', auth.message);
  }
  switch (route) {
    case 'GET /metrics': {
      const text = await ctx.registry.metrics();
      res.writeHead(200, { 'content-type': ctx.registry.contentType });
      res.end(text);
      return;
    }
    case 'GET /api/status':
      return json(res, 200, ctx.status());
    case 'POST /api/ticket': {
      const text = await readBody(req);
      if (text === undefined) return fail(res, 413, 'too-large', `body is over ${MAX_BODY} bytes`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        return fail(res, 400, 'malformed', `body must be JSON {"origin": "https://grafana.example"}: ${(e as Error).message}`);
      }
      const origin = (body as { origin?: unknown } | null)?.origin;
      if (typeof origin !== 'string' || origin === '') return fail(res, 400, 'bad-request', 'body must name the "origin" the socket will be opened from');
      if (!ctx.origins.allows(origin)) {
        ctx.rejected('forbidden-origin');
        return fail(res, 403, 'forbidden-origin', `origin ${origin} is not in the collector's allowed origins (--allowed-origins)`);
      }
      return json(res, 200, ctx.tickets.issue(origin) satisfies TicketResponse);
    }
    default: {
      const table: TableName = url.pathname === '/api/links' ? 'links' : 'flows';
      const spec = specFromQuery(table, url.searchParams);
      if (typeof spec === 'string') return fail(res, 400, 'bad-request', spec);
      const from = url.searchParams.get('from');
      const to = url.searchParams.get('to');
      if (from === null && to === null) return json(res, 200, { table, time: Date.now(), records: ctx.records(spec) });
      const range = parseRange(epochMs(from), to === null ? Date.now() : epochMs(to));
      if (typeof range === 'string') return fail(res, 400, 'bad-request', range);
      return json(res, 200, { table, ...range, records: ctx.records(spec, range) });
    }
  }
}
