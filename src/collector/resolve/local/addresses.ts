// Which addresses live on this host, and in which network namespace. Read with `ip -j addr` run
// inside each namespace (nsenter), in the background; lookups only read the last scan.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NetnsEntry } from './netns-names.js';

const run = promisify(execFile);

export interface InterfaceAddress {
  ifname: string;
  ip: string;
}

/** Addresses from the JSON of `ip -j addr show`; anything malformed is skipped. */
export function parseIpAddrJson(text: string): InterfaceAddress[] {
  let links: unknown;
  try {
    links = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const out: InterfaceAddress[] = [];
  for (const link of links as { ifname?: unknown; addr_info?: unknown }[]) {
    if (typeof link?.ifname !== 'string' || !Array.isArray(link.addr_info)) continue;
    for (const a of link.addr_info as { local?: unknown }[]) {
      if (typeof a?.local === 'string') out.push({ ifname: link.ifname, ip: a.local });
    }
  }
  return out;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

export class HostAddresses {
  private byIp = new Map<string, Set<number>>();

  constructor(private readonly timeoutMs = 2_000) {}

  async refresh(namespaces: NetnsEntry[]): Promise<void> {
    const next = new Map<string, Set<number>>();
    for (const ns of namespaces) {
      const text = await run('nsenter', [`--net=${ns.path}`, 'ip', '-j', 'addr', 'show'], { timeout: this.timeoutMs }).then(
        (r) => r.stdout,
        () => '[]', // the namespace went away between the scan and now
      );
      for (const a of parseIpAddrJson(text)) {
        if (isLoopback(a.ip)) continue;
        let set = next.get(a.ip);
        if (!set) next.set(a.ip, (set = new Set()));
        set.add(ns.inode);
      }
    }
    this.byIp = next;
  }

  isLocal(ip: string): boolean {
    return isLoopback(ip) || this.byIp.has(ip);
  }

  /** The namespace that holds `ip`, when exactly one does. */
  netnsOf(ip: string): number | undefined {
    const set = this.byIp.get(ip);
    return set && set.size === 1 ? set.values().next().value : undefined;
  }
}
