// What a graph node is called. A node id says which level it was grouped at (see
// src/protocol/endpoint-id.ts); the title is that level's name, or the address when none is known.
import { endpointKey, type Endpoint } from '../../protocol/index.js';

type Prefix = 'process' | 'netns' | 'pod' | 'workload' | 'namespace' | 'node' | 'ip';

function prefixOf(id: string): Prefix | undefined {
  const p = id.slice(0, id.indexOf(':'));
  return ['process', 'netns', 'pod', 'workload', 'namespace', 'node', 'ip'].includes(p) ? (p as Prefix) : undefined;
}

function addressName(e: Endpoint): string {
  return e.name ?? e.dns ?? e.ip ?? endpointKey(e);
}

export function nodeTitle(id: string, e: Endpoint): string {
  switch (prefixOf(id)) {
    case 'process':
      return e.process ?? addressName(e);
    case 'netns':
      return e.netns ?? addressName(e);
    case 'pod':
      return e.pod ?? addressName(e);
    case 'workload':
      return e.workload ?? addressName(e);
    case 'namespace':
      return e.namespace ?? addressName(e);
    case 'node':
      return e.node ?? addressName(e);
    default:
      return addressName(e) || id;
  }
}

/** "kind · namespace" (or the network namespace when there is no Kubernetes one). */
export function nodeSubtitle(id: string, e: Endpoint): string {
  const prefix = prefixOf(id);
  switch (prefix) {
    case 'namespace':
      return 'namespace';
    case 'node':
      return 'node';
    case 'workload':
      return [e.workloadKind ?? 'workload', e.namespace].filter(Boolean).join(' · ');
    case 'process':
    case 'netns':
    case 'pod':
      return [prefix, e.namespace ?? (prefix === 'netns' ? undefined : e.netns)].filter(Boolean).join(' · ');
    default:
      return [e.kind ?? 'unknown', e.namespace ?? e.netns].filter(Boolean).join(' · ');
  }
}
