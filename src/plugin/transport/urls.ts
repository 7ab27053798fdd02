// Where the plugin's WebSocket goes. Through Grafana's data source proxy the instance URL is a path
// on Grafana itself (e.g. /api/datasources/proxy/uid/UID); the socket uses the same path with
// ws(s) for http(s). Direct mode names the collector itself, and carries a one-time ticket.
import { WS_PATH } from '../../protocol/index.js';
import { CollectorError } from './errors.js';

function join(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

/** The proxied WebSocket URL for an instance URL, resolved against the page's origin. */
export function proxyWebSocketUrl(instanceUrl: string, pageOrigin: string): string {
  const u = new URL(join(instanceUrl, WS_PATH), pageOrigin);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/**
 * The direct WebSocket URL with its ticket. Accepts ws(s):// or http(s):// collector URLs. A page
 * served over https may only open wss:// sockets, so a plain ws:// URL there is refused up front.
 */
export function directWebSocketUrl(collectorUrl: string, ticket: string, pageOrigin: string): string {
  let u: URL;
  try {
    u = new URL(join(collectorUrl, WS_PATH));
  } catch {
    throw new CollectorError(`The direct collector URL "${collectorUrl}" is not a valid URL: use e.g. wss://collector.example:7070.`, true);
  }
  if (u.protocol === 'http:') {
    u.protocol = 'ws:';
  }
  if (u.protocol === 'https:') {
    u.protocol = 'wss:';
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new CollectorError(`The direct collector URL "${collectorUrl}" must start with ws://, wss://, http:// or https://.`, true);
  }
  if (pageOrigin.startsWith('https:') && u.protocol === 'ws:') {
    throw new CollectorError('Grafana is served over https, so direct mode needs a wss:// collector URL (browsers block ws:// from https pages).', true);
  }
  u.searchParams.set('ticket', ticket);
  return u.toString();
}

export function httpPath(instanceUrl: string, path: string): string {
  return join(instanceUrl, path);
}
