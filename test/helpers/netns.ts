// Test hosts: network namespaces joined by veth pairs, made and torn down by the test.
// Addresses are 10.x inside namespaces this process created; traffic never leaves them.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

let counter = 0;
const created: string[] = [];

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function ip(...args: string[]): string {
  return sh('ip', args);
}

/** A unique short name (interface names are limited to 15 characters). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid % 10000}x${counter}`;
}

export interface TestHost {
  /** Namespace name, usable with `ip netns exec` and at /run/netns/NAME. */
  ns: string;
  path: string;
  /** Runs a command inside the namespace. */
  exec(cmd: string, args: string[]): string;
  /** Starts a long-running command inside the namespace. */
  spawn(cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
}

export function createHost(prefix = 'wt'): TestHost {
  const ns = uniqueName(prefix);
  ip('netns', 'add', ns);
  created.push(ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  return {
    ns,
    path: `/run/netns/${ns}`,
    exec: (cmd, args) => sh('ip', ['netns', 'exec', ns, cmd, ...args]),
    spawn: (cmd, args, opts) => spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts }),
  };
}

/** One of `h`'s TCP counters: `Tcp` ones are in /proc/net/snmp, `TcpExt` ones in /proc/net/netstat. */
function tcpCounter(h: TestHost, group: 'Tcp' | 'TcpExt', name: string): number {
  const file = group === 'Tcp' ? '/proc/net/snmp' : '/proc/net/netstat';
  const lines = h.exec('cat', [file]).split('\n').filter((l) => l.startsWith(`${group}:`));
  const at = lines[0]!.split(/\s+/).indexOf(name);
  if (at < 0) throw new Error(`${file} has no ${group} counter ${name}`);
  return Number(lines[1]!.split(/\s+/)[at]);
}

/** Segments the kernel retransmitted in `h` so far (RetransSegs). */
export const retransmittedSegments = (h: TestHost): number => tcpCounter(h, 'Tcp', 'RetransSegs');

/** Retransmit attempts in `h` turned away because the original was still queued on the host. */
export const retransmitsStillQueued = (h: TestHost): number => tcpCounter(h, 'TcpExt', 'TCPSpuriousRtxHostQueues');

export interface Wire {
  a: TestHost;
  b: TestHost;
  /** veth names inside a and b. */
  aIf: string;
  bIf: string;
  aIp: string;
  bIp: string;
  aIp6: string;
  bIp6: string;
}

/**
 * Two hosts joined by one veth pair, with IPv4 10.<subnet>.0.1/.2 and IPv6 fd00:<subnet>::1/::2.
 * `subnet` keeps concurrently running tests apart.
 */
export function createWire(subnet = 200 + (process.pid % 50)): Wire {
  const a = createHost('wa');
  const b = createHost('wb');
  const aIf = uniqueName('va');
  const bIf = uniqueName('vb');
  ip('link', 'add', aIf, 'netns', a.ns, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.ns);
  const aIp = `10.${subnet}.0.1`;
  const bIp = `10.${subnet}.0.2`;
  const aIp6 = `fd00:${subnet}::1`;
  const bIp6 = `fd00:${subnet}::2`;
  for (const [h, dev, v4, v6] of [
    [a, aIf, aIp, aIp6],
    [b, bIf, bIp, bIp6],
  ] as const) {
    ip('-n', h.ns, 'addr', 'add', `${v4}/24`, 'dev', dev);
    ip('-n', h.ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad');
    ip('-n', h.ns, 'link', 'set', dev, 'up');
  }
  return { a, b, aIf, bIf, aIp, bIp, aIp6, bIp6 };
}

/** Deletes a namespace made here (its veths go with it). */
export function destroyHost(host: TestHost): void {
  try {
    ip('netns', 'del', host.ns);
  } catch {
    // already gone
  }
  const i = created.indexOf(host.ns);
  if (i >= 0) created.splice(i, 1);
}

/** Deletes every namespace this process made; call from afterAll. */
export function destroyAll(): void {
  for (const ns of [...created]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // already gone
    }
  }
  created.length = 0;
}

process.on('exit', destroyAll);
