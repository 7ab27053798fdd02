// Reverse DNS (PTR), only when asked for: through Node's resolver with a short timeout and one
// try, so a slow or absent DNS server only delays the answer to whoever asked, never resolve().
import { Resolver } from 'node:dns/promises';

export interface ReverseDnsOptions {
  /** DNS servers (ip or ip:port); default: the system's. */
  servers?: string[];
  timeoutMs?: number;
  /** Also look up, in the background, every external address no DNS answer named. Off by default. */
  auto?: boolean;
}

export function makeReverseLookup(opts: ReverseDnsOptions = {}): (ip: string) => Promise<string | undefined> {
  const r = new Resolver({ timeout: opts.timeoutMs ?? 2_000, tries: 1 });
  if (opts.servers) r.setServers(opts.servers);
  return async (ip) => {
    try {
      const names = await r.reverse(ip);
      return names[0];
    } catch {
      return undefined;
    }
  };
}
