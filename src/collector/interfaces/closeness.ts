// How close an interface is to the workload that sent or receives a packet, for picking which of
// several copies of the same packets counts (lower is closer). A veth with its peer in another
// network namespace is a workload's own cable (either end of it), as is a tun/tap; a bridge, bond
// or tunnel carries many workloads; the uplink is the farthest from any of them.
import type { InterfaceInfo } from './list.js';

const AGGREGATES = new Set(['bridge', 'bond', 'team', 'vxlan', 'geneve', 'vlan', 'macvlan', 'ipvlan', 'gre', 'gretap', 'ipip', 'sit', 'wireguard']);

export function closeness(i: Pick<InterfaceInfo, 'name' | 'kind' | 'netns' | 'peerInOtherNetns'>, uplinks: ReadonlySet<string>): number {
  if (!i.netns && uplinks.has(i.name)) return 3;
  if (i.kind && AGGREGATES.has(i.kind)) return 2;
  if ((i.kind === 'veth' && i.peerInOtherNetns) || i.kind === 'tun' || i.kind === 'tap') return 0;
  return 1;
}
