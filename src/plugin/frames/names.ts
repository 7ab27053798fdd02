// What a graph node is called. A node id says which level it was grouped at (see
// src/protocol/endpoint-id.ts); the title is that level's name, or the address when none is known.
import { AGGREGATION_LEVELS, endpointKey, type AggregationLevel, type Endpoint } from '../../protocol/index.js';

/** The levels whose node ids are named after an Endpoint field of the same name. */
type NamedLevel = Exclude<AggregationLevel, 'endpoint'>;

/** The level a node id was grouped at, from its prefix; undefined for `ip:` ids (single endpoints). */
function levelOf(id: string): NamedLevel | undefined {
  const p = id.slice(0, id.indexOf(':'));
  return p !== 'endpoint' && (AGGREGATION_LEVELS as readonly string[]).includes(p) ? (p as NamedLevel) : undefined;
}

function addressName(e: Endpoint): string {
  return e.name ?? e.dns ?? e.ip ?? endpointKey(e);
}

export function nodeTitle(id: string, e: Endpoint): string {
  const level = levelOf(id);
  return level ? (e[level] ?? addressName(e)) : addressName(e) || id;
}

/** "kind · namespace" (or the network namespace when there is no Kubernetes one). */
export function nodeSubtitle(id: string, e: Endpoint): string {
  const level = levelOf(id);
  switch (level) {
    case 'namespace':
      return 'namespace';
    case 'node':
      return 'node';
    case 'workload':
      return [e.workloadKind ?? 'workload', e.namespace].filter(Boolean).join(' · ');
    case 'process':
    case 'netns':
    case 'pod':
      return [level, e.namespace ?? (level === 'netns' ? undefined : e.netns)].filter(Boolean).join(' · ');
    default:
      return [e.kind ?? 'unknown', e.namespace ?? e.netns].filter(Boolean).join(' · ');
  }
}
