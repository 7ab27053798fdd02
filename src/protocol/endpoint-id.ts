// Which graph node an endpoint belongs to at an aggregation level. Shared by the collector (which
// groups records) and the plugin (which draws them), so both always agree on node ids.
import type { AggregationLevel } from './messages.js';
import type { Endpoint } from './records.js';

/** The finest identity: an address inside a network namespace (the same 10.0.0.1 may live in two). */
export function endpointKey(e: Endpoint): string {
  return e.netns ? `${e.netns}/${e.ip}` : e.ip;
}

/**
 * Node id of `e` at `level`. When the level's name is not known for this endpoint (an external
 * address has no pod), it falls back to a finer level rather than lumping unknowns together.
 */
export function endpointId(e: Endpoint, level: AggregationLevel = 'endpoint'): string {
  switch (level) {
    case 'process':
      return e.process && e.netns ? `process:${e.netns}/${e.process}` : `ip:${endpointKey(e)}`;
    case 'netns':
      return e.netns ? `netns:${e.netns}` : `ip:${endpointKey(e)}`;
    case 'pod':
      return e.pod && e.namespace ? `pod:${e.namespace}/${e.pod}` : `ip:${endpointKey(e)}`;
    case 'workload':
      if (e.workload && e.namespace) return `workload:${e.namespace}/${e.workloadKind ?? 'Workload'}/${e.workload}`;
      return endpointId(e, 'pod');
    case 'namespace':
      return e.namespace ? `namespace:${e.namespace}` : `ip:${endpointKey(e)}`;
    case 'node':
      return e.node ? `node:${e.node}` : `ip:${endpointKey(e)}`;
    case 'endpoint':
      return `ip:${endpointKey(e)}`;
  }
}
