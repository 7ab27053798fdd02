// Records → what a subscription shows: filtered, grouped into graph nodes at an aggregation level
// (node ids from endpointId, shared with the plugin), then bounded to the top N by bytes.
// Pure; the output is sorted by id so equal inputs give equal outputs.
import { endpointId, type AggregationLevel, type Endpoint, type FlowRecord, type LinkRecord, type SubscriptionSpec, type TableName, type TableRecord } from '../../protocol/index.js';
import { byId, sortedById } from '../../protocol/record-order.js';
import { flowEnds, flowMatches, linkMatches } from './filters.js';
import { kept } from './kept.js';

/** The fields both endpoints agree on, with the node id. */
function mergeEndpoints(a: Endpoint, b: Endpoint): Endpoint {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) if ((b as unknown as Record<string, unknown>)[k] === v) out[k] = v;
  return out as unknown as Endpoint;
}

// Object.assign, not `{ ...e, id }`: a spread followed by a new key took 7× as long (measured).
function withId(e: Endpoint, level: AggregationLevel): Endpoint {
  return Object.assign({}, e, { id: endpointId(e, level) });
}

function mergeLinks(a: LinkRecord, b: LinkRecord): LinkRecord {
  const rtts = [a.rttMs, b.rttMs].filter((x): x is number => x !== undefined);
  const merged: LinkRecord = {
    id: a.id,
    client: mergeEndpoints(a.client, b.client),
    server: mergeEndpoints(a.server, b.server),
    protocol: a.protocol,
    bytesSent: a.bytesSent + b.bytesSent,
    bytesReceived: a.bytesReceived + b.bytesReceived,
    sendRate: a.sendRate + b.sendRate,
    receiveRate: a.receiveRate + b.receiveRate,
    connections: {
      active: a.connections.active + b.connections.active,
      closed: a.connections.closed + b.connections.closed,
      failed: a.connections.failed + b.connections.failed,
    },
    retransmits: a.retransmits + b.retransmits,
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen),
  };
  // The larger of two smoothed RTTs: an edge is as slow as its slowest member.
  if (rtts.length > 0) merged.rttMs = Math.max(...rtts);
  return merged;
}

/**
 * Links grouped at `level`. At `endpoint` every link stays itself (its id is stable across
 * snapshots); above it, links between the same two nodes on the same protocol and port become one.
 */
export function aggregateLinks(records: LinkRecord[], level: AggregationLevel): LinkRecord[] {
  if (level === 'endpoint') {
    return sortedById(records.map((r) => ({ ...r, client: withId(r.client, level), server: withId(r.server, level) })));
  }
  const groups = new Map<string, LinkRecord>();
  for (const r of records) {
    const client = withId(r.client, level);
    const server = withId(r.server, level);
    const id = `${client.id}>${server.id}:${r.protocol}/${r.server.port ?? 0}`;
    const prev = groups.get(id);
    const own: LinkRecord = { ...r, id, client, server };
    delete own.details;
    groups.set(id, prev ? mergeLinks(prev, own) : own);
  }
  return [...groups.values()].sort(byId);
}

function mergeFlows(a: FlowRecord, b: FlowRecord): FlowRecord {
  const merged: FlowRecord = {
    ...a,
    srcPort: a.srcPort === b.srcPort ? a.srcPort : 0,
    dstPort: a.dstPort === b.dstPort ? a.dstPort : 0,
    packets: a.packets + b.packets,
    bytes: a.bytes + b.bytes,
    payloadBytes: a.payloadBytes + b.payloadBytes,
    tcpFlags: a.tcpFlags | b.tcpFlags,
    rate: a.rate + b.rate,
    firstSeen: Math.min(a.firstSeen, b.firstSeen),
    lastSeen: Math.max(a.lastSeen, b.lastSeen),
  };
  if (a.srcEndpoint && b.srcEndpoint) merged.srcEndpoint = mergeEndpoints(a.srcEndpoint, b.srcEndpoint);
  if (a.dstEndpoint && b.dstEndpoint) merged.dstEndpoint = mergeEndpoints(a.dstEndpoint, b.dstEndpoint);
  if (a.src !== b.src) merged.src = merged.srcEndpoint?.ip ?? '';
  if (a.dst !== b.dst) merged.dst = merged.dstEndpoint?.ip ?? '';
  if (a.duplicate !== b.duplicate) delete merged.duplicate;
  return merged;
}

/** Flows grouped at `level`: same two nodes, protocol, interface and direction become one. */
export function aggregateFlows(records: FlowRecord[], level: AggregationLevel): FlowRecord[] {
  const annotate = (r: FlowRecord): FlowRecord => {
    const [s, d] = flowEnds(r);
    return { ...r, srcEndpoint: withId(s, level), dstEndpoint: withId(d, level) };
  };
  if (level === 'endpoint') return sortedById(records.map(annotate));
  const groups = new Map<string, FlowRecord>();
  for (const r of records) {
    const own = annotate(r);
    const id = `${own.srcEndpoint!.id}>${own.dstEndpoint!.id}:${r.protocol}@${r.interface}/${r.direction}`;
    own.id = id;
    const prev = groups.get(id);
    groups.set(id, prev ? mergeFlows(prev, own) : own);
  }
  return [...groups.values()].sort(byId);
}

export function recordWeight(table: TableName, r: LinkRecord | FlowRecord): number {
  return table === 'links' ? (r as LinkRecord).bytesSent + (r as LinkRecord).bytesReceived : (r as FlowRecord).bytes;
}

/**
 * The `top` heaviest records (ties broken by id), returned sorted by id; 0 or absent keeps all.
 * A min-heap of the kept ones: one pass, nothing allocated per record (100,000 links → top 200).
 */
export function topN<R extends LinkRecord | FlowRecord>(table: TableName, records: R[], top: number | undefined): R[] {
  if (!top || records.length <= top) return records;
  const heap: R[] = [];
  const w: number[] = [];
  // a ranks below b: lighter, or as heavy with a later id.
  const below = (i: number, j: number): boolean => w[i]! < w[j]! || (w[i] === w[j] && heap[i]!.id > heap[j]!.id);
  const swap = (i: number, j: number): void => {
    [heap[i], heap[j]] = [heap[j]!, heap[i]!];
    [w[i], w[j]] = [w[j]!, w[i]!];
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && below(l, m)) m = l;
      if (r < heap.length && below(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (const rec of records) {
    const weight = recordWeight(table, rec);
    if (heap.length < top) {
      heap.push(rec);
      w.push(weight);
      for (let i = heap.length - 1; i > 0 && below(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
    } else if (weight > w[0]! || (weight === w[0] && rec.id < heap[0]!.id)) {
      heap[0] = rec;
      w[0] = weight;
      down(0);
    }
  }
  return heap.sort(byId);
}

/** What a subscription (or query) with `spec` shows of `records`. */
export function shape<T extends TableName>(table: T, records: TableRecord<T>[], spec: Omit<SubscriptionSpec, 'table'>): TableRecord<T>[] {
  const level = spec.aggregate ?? 'endpoint';
  // At endpoint level records stay themselves, so the cut comes first and only survivors are copied.
  if (table === 'links') {
    const shown = kept(records as LinkRecord[], (r) => linkMatches(r, spec.filter, level));
    if (level === 'endpoint') return aggregateLinks(topN('links', shown, spec.top), level) as TableRecord<T>[];
    return topN('links', aggregateLinks(shown, level), spec.top) as TableRecord<T>[];
  }
  const shown = kept(records as FlowRecord[], (r) => flowMatches(r, spec.filter, level));
  if (level === 'endpoint') return aggregateFlows(topN('flows', shown, spec.top), level) as TableRecord<T>[];
  return topN('flows', aggregateFlows(shown, level), spec.top) as TableRecord<T>[];
}
