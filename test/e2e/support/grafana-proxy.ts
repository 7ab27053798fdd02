// A stand-in for Grafana's data source proxy on the path the plugin uses, built from the plugin's
// own plugin.json: /api/datasources/proxy/uid/UID/<path> goes to the data source URL + <path> when a
// route's path prefixes it; the route's headers are added with {{ .SecureJsonData.x }} filled in;
// Origin, Referer and cookies are dropped; WebSocket upgrades are passed through. Unmatched paths
// get 404 here (Grafana would forward them without the token, which the collector refuses anyway).
// An unreachable collector gives 502, as Grafana does.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';

export interface DataSourceSettings {
  uid: string;
  url: string;
  jsonData?: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

interface Route {
  path: string;
  method?: string;
  headers?: Array<{ name: string; content: string }>;
}

export interface GrafanaProxy {
  origin: string;
  /** The data source's instance URL as Grafana gives it to the plugin in proxy mode. */
  instanceUrl(uid: string): string;
  /** Replaces a data source's settings (what Save does in Grafana). */
  save(ds: DataSourceSettings): void;
  /** Requests seen, with the headers the collector received. */
  forwarded: Array<{ method: string; path: string; headers: Record<string, string | string[] | undefined> }>;
  close(): Promise<void>;
}

const PREFIX = '/api/datasources/proxy/uid/';
const DROPPED = ['origin', 'referer', 'cookie', 'authorization', 'host'];

function interpolate(template: string, ds: DataSourceSettings): string {
  return template
    .replace(/\{\{\s*\.SecureJsonData\.(\w+)\s*\}\}/g, (_, k: string) => ds.secureJsonData?.[k] ?? '')
    .replace(/\{\{\s*\.JsonData\.(\w+)\s*\}\}/g, (_, k: string) => String(ds.jsonData?.[k] ?? ''));
}

/** Answers a request itself (pages, scripts) instead of proxying it; true when it did. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export async function startGrafanaProxy(pluginJsonPath: string, serve?: StaticHandler): Promise<GrafanaProxy> {
  const routes: Route[] = JSON.parse(readFileSync(pluginJsonPath, 'utf8')).routes ?? [];
  const settings = new Map<string, DataSourceSettings>();
  const forwarded: GrafanaProxy['forwarded'] = [];

  /** Target URL and headers for a proxied request, or an HTTP status to answer with. */
  function resolve(req: IncomingMessage): { target: URL; headers: Record<string, string | string[] | undefined> } | number {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith(PREFIX)) return 404;
    const rest = url.pathname.slice(PREFIX.length);
    const uid = rest.split('/')[0]!;
    const ds = settings.get(uid);
    if (!ds) return 404;
    const proxyPath = rest.slice(uid.length + 1);
    const route = routes.find((r) => proxyPath.startsWith(r.path) && (!r.method || r.method === '*' || r.method === req.method));
    if (!route) return 404;
    const target = new URL(ds.url.replace(/\/+$/, '') + '/' + proxyPath + url.search);
    const headers: Record<string, string | string[] | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) if (!DROPPED.includes(k)) headers[k] = v;
    for (const h of route.headers ?? []) headers[h.name.toLowerCase()] = interpolate(h.content, ds);
    headers.host = target.host;
    forwarded.push({ method: req.method ?? 'GET', path: target.pathname, headers });
    return { target, headers };
  }

  const server: Server = createServer((req, res) => {
    // Like Grafana, one origin serves the page, the plugin's files and the proxy.
    if (serve?.(req, res)) {
      return;
    }
    const r = resolve(req);
    if (typeof r === 'number') {
      res.writeHead(r, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Not found' }));
      return;
    }
    const up = request(r.target, { method: req.method, headers: r.headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Bad Gateway' }));
    });
    req.pipe(up);
  });

  server.on('upgrade', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const r = resolve(req);
    if (typeof r === 'number') {
      client.end(`HTTP/1.1 ${r} Not Found\r\nconnection: close\r\n\r\n`);
      return;
    }
    const upstream = connect(Number(r.target.port || 80), r.target.hostname, () => {
      const lines = [`${req.method} ${r.target.pathname}${r.target.search} HTTP/1.1`];
      for (const [k, v] of Object.entries(r.headers)) {
        for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) lines.push(`${k}: ${one}`);
      }
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const end = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\n'));
    upstream.on('close', end);
    client.on('error', end);
    client.on('close', end);
  });

  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    instanceUrl: (uid) => `${origin}${PREFIX}${uid}`,
    save: (ds) => void settings.set(ds.uid, ds),
    forwarded,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
