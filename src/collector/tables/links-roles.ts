// Who is the client of a connection that was already open when the collector started? The kernel
// only told us at the handshake, which we missed. A listening socket decides: the side whose
// local port has a listener in its namespace is the server. Only when no listener is known on
// either side does the port number decide (the lower one, below the ephemeral range, serves).
import { isLoopback } from './address.js';

export interface Listener {
  netns: number;
  /** Specific address, or 0.0.0.0 / :: for all of them. */
  ip: string;
  port: number;
}

export interface SocketTuple {
  netns: number;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

export class ListenerIndex {
  private readonly byNetnsPort = new Map<string, Set<string>>();
  private readonly byIpPort = new Set<string>();
  private readonly netnsAddresses = new Map<number, Set<string>>();

  constructor(listeners: Listener[] = [], localAddresses: { netns: number; ip: string }[] = []) {
    for (const l of listeners) {
      const k = `${l.netns}|${l.port}`;
      let ips = this.byNetnsPort.get(k);
      if (!ips) this.byNetnsPort.set(k, (ips = new Set()));
      ips.add(l.ip);
      if (!WILDCARDS.has(l.ip)) this.byIpPort.add(`${l.ip}|${l.port}`);
      this.addAddress(l.netns, l.ip);
    }
    for (const a of localAddresses) this.addAddress(a.netns, a.ip);
  }

  /** Is something listening on ip:port inside netns? */
  listens(netns: number, ip: string, port: number): boolean {
    const ips = this.byNetnsPort.get(`${netns}|${port}`);
    if (!ips) return false;
    return ips.has(ip) || [...ips].some((l) => WILDCARDS.has(l) && sameFamily(l, ip));
  }

  /** Is something on this host (any namespace) listening on ip:port? Loopback only counts in `netns`. */
  listensAnywhere(ip: string, port: number, netns: number): boolean {
    if (isLoopback(ip)) return this.listens(netns, ip, port);
    if (this.byIpPort.has(`${ip}|${port}`)) return true;
    for (const [ns, addrs] of this.netnsAddresses) {
      if (addrs.has(ip) && this.listens(ns, ip, port)) return true;
    }
    return false;
  }

  private addAddress(netns: number, ip: string): void {
    if (WILDCARDS.has(ip)) return;
    let s = this.netnsAddresses.get(netns);
    if (!s) this.netnsAddresses.set(netns, (s = new Set()));
    s.add(ip);
  }
}

function sameFamily(wildcard: string, ip: string): boolean {
  // An IPv6 wildcard listener also accepts IPv4 (dual stack, the Linux default).
  return wildcard === '::' || !ip.includes(':');
}

/** Lowest port of the kernel's default ephemeral range (net.ipv4.ip_local_port_range). */
const EPHEMERAL_START = 32768;

export function decideRole(t: SocketTuple, listeners: ListenerIndex): 'client' | 'server' {
  if (listeners.listens(t.netns, t.localIp, t.localPort)) return 'server';
  if (listeners.listensAnywhere(t.remoteIp, t.remotePort, t.netns)) return 'client';
  if (t.localPort < EPHEMERAL_START && t.remotePort >= EPHEMERAL_START) return 'server';
  if (t.remotePort < EPHEMERAL_START && t.localPort >= EPHEMERAL_START) return 'client';
  return t.localPort < t.remotePort ? 'server' : 'client';
}
