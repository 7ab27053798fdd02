// Which addresses live on this host, and in which network namespace, scanned in the background;
// lookups only read the last scan. A namespace with a process in it is read from that process's
// /proc/PID/net (no exec); a named namespace without one through `nsenter … ip -j addr`.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { formatIpv6 } from '../dns/dns-message.js';
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

/** IPv4 addresses of this namespace: the `/32 host LOCAL` entries of /proc/PID/net/fib_trie. */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    const leaf = /\|-- (\d+\.\d+\.\d+\.\d+)$/.exec(line);
    if (leaf) last = leaf[1];
    else if (last && /^\s+\/32 host LOCAL/.test(line)) out.add(last);
  }
  return [...out];
}

/** IPv6 addresses of this namespace from /proc/PID/net/if_inet6 (32 hex digits, then fields). */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const hex = /^([0-9a-f]{32})\s/.exec(line)?.[1];
    if (hex) out.push(formatIpv6(Buffer.from(hex, 'hex')));
  }
  return out;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

export class HostAddresses {
  private byIp = new Map<string, Set<number>>();

  constructor(
    private readonly procDir = '/proc',
    private readonly timeoutMs = 2_000,
  ) {}

  async refresh(namespaces: NetnsEntry[]): Promise<void> {
    const next = new Map<string, Set<number>>();
    for (const ns of namespaces) {
      for (const ip of await this.addressesOf(ns)) {
        if (isLoopback(ip)) continue;
        let set = next.get(ip);
        if (!set) next.set(ip, (set = new Set()));
        set.add(ns.inode);
      }
    }
    this.byIp = next;
  }

  private async addressesOf(ns: NetnsEntry): Promise<string[]> {
    if (ns.pid !== undefined) {
      const [v4, v6] = await Promise.all([
        readFile(`${this.procDir}/${ns.pid}/net/fib_trie`, 'utf8').catch(() => undefined),
        readFile(`${this.procDir}/${ns.pid}/net/if_inet6`, 'utf8').catch(() => ''), // no IPv6 in this kernel/namespace
      ]);
      if (v4 !== undefined) return [...parseFibTrieLocal(v4), ...parseIfInet6(v6)];
    }
    const r = await run('nsenter', [`--net=${ns.path}`, 'ip', '-j', 'addr', 'show'], { timeout: this.timeoutMs }).catch(() => undefined); // gone since the scan
    return r ? parseIpAddrJson(r.stdout).map((a) => a.ip) : [];
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
