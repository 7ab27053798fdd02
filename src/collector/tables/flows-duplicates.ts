// The same packets seen on several interfaces of this host (a pod's veth, the bridge, the other
// pod's veth, the uplink) must count once. Within one drain, copies are flow samples with the
// same packet tuple (protocol, source, destination and ports, in the packet's own orientation)
// on different interfaces or directions. The copy closest to a workload counts; on a tie, the
// ingress copy (where the packet entered from the sender), then the lowest netns and ifindex.

export interface CopyCandidate {
  proto: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  direction: 'ingress' | 'egress';
  netnsInode: number;
  ifindex: number;
  /** Lower = closer to the workload (see ../interfaces/closeness.ts). */
  closeness: number;
}

export const packetTuple = (c: CopyCandidate): string => `${c.proto}|${c.src}|${c.srcPort}|${c.dst}|${c.dstPort}`;

function better(a: CopyCandidate, b: CopyCandidate): boolean {
  if (a.closeness !== b.closeness) return a.closeness < b.closeness;
  if (a.direction !== b.direction) return a.direction === 'ingress';
  if (a.netnsInode !== b.netnsInode) return a.netnsInode < b.netnsInode;
  return a.ifindex < b.ifindex;
}

/** Indexes of the candidates that are copies of packets counted elsewhere. */
export function findDuplicates(candidates: readonly CopyCandidate[]): Set<number> {
  const best = new Map<string, number>();
  const grouped = new Map<string, number[]>();
  candidates.forEach((c, i) => {
    const t = packetTuple(c);
    const g = grouped.get(t);
    if (g) g.push(i);
    else grouped.set(t, [i]);
    const b = best.get(t);
    if (b === undefined || better(c, candidates[b]!)) best.set(t, i);
  });
  const dups = new Set<number>();
  for (const [t, members] of grouped) {
    if (members.length < 2) continue;
    const keep = best.get(t);
    for (const i of members) if (i !== keep) dups.add(i);
  }
  return dups;
}
