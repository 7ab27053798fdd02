// Reads the TCP socket table of every network namespace on the host once, at start: the
// connections already open and the listening sockets that decide their roles. One process per
// namespace is enough (/proc/PID/net/tcp shows that process's namespace).
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { Listener, SocketTuple } from '../tables/links-roles.js';
import { parseProcNetTcp, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, type ProcTcpSocket } from './proc-net-tcp.js';

export interface SocketTableSnapshot {
  listeners: Listener[];
  connections: SocketTuple[];
  /** Namespaces read, and those that could not be (their process exited meanwhile, …). */
  namespaces: number;
  errors: string[];
}

/** netns inode → one pid living in it. */
export async function processPerNetns(procRoot = '/proc'): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const name of await readdir(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(await readlink(`${procRoot}/${name}/ns/net`));
      if (m && !out.has(Number(m[1]))) out.set(Number(m[1]), Number(name));
    } catch {
      // the process exited, or is a kernel thread without a namespace link
    }
  }
  return out;
}

export async function readSocketTable(procRoot = '/proc'): Promise<SocketTableSnapshot> {
  const snapshot: SocketTableSnapshot = { listeners: [], connections: [], namespaces: 0, errors: [] };
  for (const [netns, pid] of await processPerNetns(procRoot)) {
    let sockets: ProcTcpSocket[];
    try {
      const [v4, v6] = await Promise.all([
        readFile(`${procRoot}/${pid}/net/tcp`, 'utf8'),
        readFile(`${procRoot}/${pid}/net/tcp6`, 'utf8').catch(() => ''),
      ]);
      sockets = [...parseProcNetTcp(v4, 4), ...(v6 ? parseProcNetTcp(v6, 6) : [])];
    } catch (err) {
      snapshot.errors.push(`netns ${netns} (pid ${pid}): ${(err as Error).message}`);
      continue;
    }
    snapshot.namespaces += 1;
    for (const s of sockets) {
      if (s.state === TCP_LISTEN) snapshot.listeners.push({ netns, ip: s.localIp, port: s.localPort });
      else if (s.state === TCP_ESTABLISHED || s.state === TCP_CLOSE_WAIT) {
        snapshot.connections.push({ netns, localIp: s.localIp, localPort: s.localPort, remoteIp: s.remoteIp, remotePort: s.remotePort });
      }
    }
  }
  return snapshot;
}
