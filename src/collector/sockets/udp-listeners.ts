// The UDP ports bound for listening in every network namespace on the host, read from
// /proc/PID/net/udp{,6} (one process per namespace), so UDP conversations get their server side
// from the socket that waits for them rather than from a guess on port numbers.
import { readFile } from 'node:fs/promises';
import type { UdpListener } from '../tables/udp-links.js';
import { parseProcNetTcp, type ProcTcpSocket } from './proc-net-tcp.js';
import { processPerNetns } from './socket-table.js';

/** The kernel's ephemeral range, from which unbound senders get their port. */
export interface PortRange {
  low: number;
  high: number;
}

export function parsePortRange(text: string): PortRange {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`ip_local_port_range: "${text.trim()}" is not two port numbers`);
  return { low: Number(m[1]), high: Number(m[2]) };
}

/**
 * Listeners among the sockets of /proc/net/udp (same layout as tcp): an unconnected socket (no
 * remote address) bound to a port. A client that sends without connect() looks the same, but
 * sits on a port the kernel picked from the ephemeral range: ports in that range are left out.
 */
export function udpListenersOf(sockets: readonly ProcTcpSocket[], ephemeral: PortRange): UdpListener[] {
  const out: UdpListener[] = [];
  for (const s of sockets) {
    if (s.localPort === 0 || s.remotePort !== 0) continue;
    if (s.localPort >= ephemeral.low && s.localPort <= ephemeral.high) continue;
    out.push({ ip: s.localIp, port: s.localPort });
  }
  return out;
}

export interface UdpListenerSnapshot {
  listeners: UdpListener[];
  errors: string[];
}

export async function readUdpListeners(procRoot = '/proc'): Promise<UdpListenerSnapshot> {
  const ephemeral = parsePortRange(await readFile(`${procRoot}/sys/net/ipv4/ip_local_port_range`, 'utf8').catch(() => '32768 60999'));
  const seen = new Set<string>();
  const snapshot: UdpListenerSnapshot = { listeners: [], errors: [] };
  for (const [netns, pid] of await processPerNetns(procRoot)) {
    let sockets: ProcTcpSocket[];
    try {
      const [v4, v6] = await Promise.all([readFile(`${procRoot}/${pid}/net/udp`, 'utf8'), readFile(`${procRoot}/${pid}/net/udp6`, 'utf8').catch(() => '')]);
      sockets = [...parseProcNetTcp(v4, 4), ...(v6 ? parseProcNetTcp(v6, 6) : [])];
    } catch (err) {
      // The namespace's process exited between the listing and the read: nothing to report.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') continue;
      snapshot.errors.push(`netns ${netns} (pid ${pid}): ${(err as Error).message}`);
      continue;
    }
    for (const l of udpListenersOf(sockets, ephemeral)) {
      const key = `${l.ip}/${l.port}`;
      if (!seen.has(key)) {
        seen.add(key);
        snapshot.listeners.push(l);
      }
    }
  }
  snapshot.listeners.sort((a, b) => a.port - b.port || (a.ip! < b.ip! ? -1 : a.ip! > b.ip! ? 1 : 0));
  return snapshot;
}
