// Which records a subscription keeps. Pure: records and a filter in, a yes or no out.
import { endpointId, type AggregationLevel, type Endpoint, type Filters, type FlowRecord, type LinkRecord } from '../../protocol/index.js';

function nameMatches(e: Endpoint | undefined, needle: string): boolean {
  if (!e) return false;
  for (const v of [e.name, e.process, e.pod, e.workload, e.dns, e.ip, e.container, e.netns]) {
    if (v && v.toLowerCase().includes(needle)) return true;
  }
  return false;
}

function endsMatch(a: Endpoint, b: Endpoint, f: Filters, level: AggregationLevel): boolean {
  if (f.namespace !== undefined && a.namespace !== f.namespace && b.namespace !== f.namespace) return false;
  if (f.kind !== undefined && a.kind !== f.kind && b.kind !== f.kind) return false;
  if (f.name !== undefined && f.name !== '') {
    const needle = f.name.toLowerCase();
    if (!nameMatches(a, needle) && !nameMatches(b, needle)) return false;
  }
  if (f.endpoint !== undefined) {
    const ia = endpointId(a, level);
    const ib = endpointId(b, level);
    if (f.peer !== undefined) {
      if (!((ia === f.endpoint && ib === f.peer) || (ia === f.peer && ib === f.endpoint))) return false;
    } else if (ia !== f.endpoint && ib !== f.endpoint) return false;
  }
  return true;
}

export function linkMatches(r: LinkRecord, f: Filters | undefined, level: AggregationLevel = 'endpoint'): boolean {
  if (!f) return true;
  if (f.port !== undefined && r.server.port !== f.port) return false;
  if (f.protocol !== undefined && r.protocol !== f.protocol) return false;
  if (f.interface !== undefined) return false;
  return endsMatch(r.client, r.server, f, level);
}

/** The two ends of a flow as endpoints, named where resolve/ knew them. */
export function flowEnds(r: FlowRecord): [Endpoint, Endpoint] {
  return [r.srcEndpoint ?? { ip: r.src, netns: r.netns }, r.dstEndpoint ?? { ip: r.dst, netns: r.netns }];
}

export function flowMatches(r: FlowRecord, f: Filters | undefined, level: AggregationLevel = 'endpoint'): boolean {
  if (!f) return true;
  if (f.port !== undefined && r.srcPort !== f.port && r.dstPort !== f.port) return false;
  if (f.protocol !== undefined && r.protocol !== f.protocol) return false;
  if (f.interface !== undefined && r.interface !== f.interface) return false;
  const [a, b] = flowEnds(r);
  return endsMatch(a, b, f, level);
}
