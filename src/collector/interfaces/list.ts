// What interfaces a network namespace has, from iproute2's JSON output (`ip -j -d link`).
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface InterfaceInfo {
  name: string;
  ifindex: number;
  /** Named netns (as in /run/netns), absent = the collector's own. */
  netns?: string;
  netnsInode: number;
  /** rtnetlink link kind: veth, bridge, vlan, ... ; absent for a physical device. */
  kind?: string;
  /** Set when the interface is a port of a bridge or bond. */
  master?: string;
  /** A veth whose peer lives in another network namespace. */
  peerInOtherNetns: boolean;
  up: boolean;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  master?: string;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
}

/** Inode of a network namespace: what the flow program stores in its keys. */
export function netnsInode(netns?: string): number {
  return statSync(netns ? `/run/netns/${netns}` : '/proc/self/ns/net').ino;
}

function ipArgs(netns: string | undefined, args: string[]): string[] {
  return netns ? ['-n', netns, ...args] : args;
}

export function parseIpLinks(json: string, netns: string | undefined, inode: number): InterfaceInfo[] {
  const links = JSON.parse(json) as IpLink[];
  return links.map((l) => ({
    name: l.ifname,
    ifindex: l.ifindex,
    ...(netns ? { netns } : {}),
    netnsInode: inode,
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    ...(l.master ? { master: l.master } : {}),
    peerInOtherNetns: l.link_netnsid !== undefined,
    up: (l.flags ?? []).includes('UP'),
  }));
}

export async function listInterfaces(netns?: string): Promise<InterfaceInfo[]> {
  const { stdout } = await run('ip', ipArgs(netns, ['-j', '-d', 'link', 'show']), { maxBuffer: 64 * 1024 * 1024 });
  return parseIpLinks(stdout, netns, netnsInode(netns));
}

/** Interface names of the default routes (IPv4, else IPv6) in the collector's namespace. */
export async function defaultRouteInterfaces(): Promise<string[]> {
  const names = new Set<string>();
  for (const family of ['-4', '-6']) {
    const { stdout } = await run('ip', [family, '-j', 'route', 'show', 'default']);
    for (const r of JSON.parse(stdout || '[]') as { dev?: string }[]) if (r.dev) names.add(r.dev);
    if (names.size > 0) break;
  }
  return [...names];
}
