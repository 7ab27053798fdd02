// Reverse DNS (PTR), only when asked for: through Node's resolver with a short timeout and one
// try, so a slow or absent DNS server only delays the answer to whoever asked, never resolve().
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

export interface ReverseDnsOptions {
  /** DNS servers (ip or ip:port); default: the system's. */
  servers?: string[];
  timeoutMs?: number;
  /** Also look up, in the background, every external address no DNS answer named. Off by default. */
  auto?: boolean;
}

/** Throws naming the server unless it is an IP address, IPv4:port or [IPv6]:port (Node's own error names no option, and lets port 99999 through). */
export function checkServer(server: string): void {
  const withPort = /^\[([^\]]+)\]:(\d+)$/.exec(server) ?? /^([^:]+):(\d+)$/.exec(server);
  const ip = withPort ? withPort[1] : server;
  const port = withPort ? Number(withPort[2]) : 53;
  if (!isIP(ip) || port < 1 || port > 65535) {
    throw new Error(`reverse DNS server "${server}" is not an IP address, IPv4:port or [IPv6]:port`);
  }
}

export function makeReverseLookup(opts: ReverseDnsOptions = {}): (ip: string) => Promise<string | undefined> {
  const r = new Resolver({ timeout: opts.timeoutMs ?? 2_000, tries: 1 });
  if (opts.servers) {
    opts.servers.forEach(checkServer);
    r.setServers(opts.servers);
  }
  return async (ip) => {
    try {
      const names = await r.reverse(ip);
      return names[0];
    } catch {
      return undefined;
    }
  };
}
