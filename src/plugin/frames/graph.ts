// Link records → the Node Graph panel's two frames (nodes and edges). Pure and deterministic: the
// same records in any order give equal frames, with nodes and edges sorted by id, so the panel's
// layout stays put between updates.
import type { DataFrame, FieldConfig } from '@grafana/data';
import { endpointId, type AggregationLevel, type Endpoint, type LinkRecord } from '../../protocol/index.js';
import type { MainStat } from '../types.js';
import { edgeFlowsLink, nodeFlowsLink, type ExploreTarget } from './explore-links.js';
import { field, frame, NUMBER, STRING } from './frame.js';
import { nodeSubtitle, nodeTitle } from './names.js';

/** The Node Graph panel draws at most this many nodes. */
export const MAX_NODES = 200;
/** Id of the node that stands for everything beyond the top nodes. */
export const OTHER_NODE = 'other';

export interface GraphOptions {
  refId: string;
  level: AggregationLevel;
  mainstat: MainStat;
  maxNodes?: number;
  /** This data source, for data links to Explore; no links without it. */
  explore?: ExploreTarget;
}

export interface GraphFrames {
  nodes: DataFrame;
  edges: DataFrame;
}

interface Figures {
  rate: number;
  bytes: number;
  active: number;
  closed: number;
  failed: number;
  retransmits: number;
  /** Established connections (active + closed) on links that retransmitted, and on links that did not. */
  retransmitting: number;
  healthy: number;
  rttSum: number;
  rttCount: number;
}

interface NodeAcc extends Figures {
  id: string;
  endpoint: Endpoint;
  ips: Set<string>;
  pids: Set<string>;
  processes: Set<string>;
  hosts: Set<string>;
  /** Nodes folded into the "other" node. */
  folded: Set<string>;
}

interface EdgeAcc extends Figures {
  id: string;
  source: string;
  target: string;
  sent: number;
  received: number;
  ports: Set<number>;
  protocols: Set<string>;
}

function emptyFigures(): Figures {
  return { rate: 0, bytes: 0, active: 0, closed: 0, failed: 0, retransmits: 0, retransmitting: 0, healthy: 0, rttSum: 0, rttCount: 0 };
}

function addFigures(f: Figures, r: LinkRecord): void {
  const established = r.connections.active + r.connections.closed;
  f.rate += r.sendRate + r.receiveRate;
  f.bytes += r.bytesSent + r.bytesReceived;
  f.active += r.connections.active;
  f.closed += r.connections.closed;
  f.failed += r.connections.failed;
  f.retransmits += r.retransmits;
  if (r.retransmits > 0) {
    f.retransmitting += established;
  } else {
    f.healthy += established;
  }
  if (r.rttMs !== undefined) {
    f.rttSum += r.rttMs;
    f.rttCount += 1;
  }
}

function rtt(f: Figures): number | null {
  return f.rttCount ? round(f.rttSum / f.rttCount, 3) : null;
}

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

function measure(f: Figures, stat: MainStat): number | null {
  switch (stat) {
    case 'throughput':
      return round(f.rate, 1);
    case 'bytes':
      return f.bytes;
    case 'connections':
      return f.active;
    case 'rtt':
      return rtt(f);
  }
}

const STAT_CONFIG: Record<MainStat, FieldConfig> = {
  throughput: { displayName: 'Throughput', unit: 'Bps' },
  bytes: { displayName: 'Bytes', unit: 'decbytes' },
  connections: { displayName: 'Connections', unit: 'none' },
  rtt: { displayName: 'RTT', unit: 'ms' },
};

/** Share of connections in each state; sums to 1 (all healthy when there were none, e.g. UDP). */
function arcs(f: Figures): { healthy: number; retransmitting: number; failed: number } {
  const total = f.healthy + f.retransmitting + f.failed;
  if (total === 0) {
    return { healthy: 1, retransmitting: 0, failed: 0 };
  }
  return { healthy: f.healthy / total, retransmitting: f.retransmitting / total, failed: f.failed / total };
}

function healthColor(f: Figures): string {
  const a = arcs(f);
  if (a.failed > 0.5) {
    return 'red';
  }
  if (a.failed > 0 || f.retransmits > 0) {
    return 'orange';
  }
  return 'green';
}

const MAX_LISTED = 5;

/** Numbers in numeric order (port 80 before 443), then strings. */
function compareValues(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  if (a !== '' && b !== '' && Number.isFinite(x) && Number.isFinite(y)) {
    return x - y;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function list(values: Iterable<string | number>): string {
  const sorted = [...new Set([...values].map(String))].sort(compareValues);
  const shown = sorted.slice(0, MAX_LISTED).join(', ');
  return sorted.length > MAX_LISTED ? `${shown} +${sorted.length - MAX_LISTED} more` : shown;
}

function nodeIds(r: LinkRecord, level: AggregationLevel): [string, string] {
  return [r.client.id ?? endpointId(r.client, level), r.server.id ?? endpointId(r.server, level)];
}

/** Which node each node id is drawn as: itself for the top nodes by bytes, else the "other" node. */
function placement(records: readonly LinkRecord[], ids: ReadonlyArray<[string, string]>, maxNodes: number): (id: string) => string {
  const bytes = new Map<string, number>();
  records.forEach((r, i) => {
    const b = r.bytesSent + r.bytesReceived;
    const [c, s] = ids[i]!;
    bytes.set(c, (bytes.get(c) ?? 0) + b);
    if (s !== c) {
      bytes.set(s, (bytes.get(s) ?? 0) + b);
    }
  });
  if (bytes.size <= maxNodes) {
    return (id) => id;
  }
  const ranked = [...bytes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const kept = new Set(ranked.slice(0, maxNodes - 1).map(([id]) => id));
  return (id) => (kept.has(id) ? id : OTHER_NODE);
}

/** A process or netns name may hold ">": escaped, so that two different pairs never share an edge id. */
function edgeId(source: string, target: string): string {
  const escape = (id: string) => id.replace(/[\\>]/g, '\\$&');
  return `${escape(source)}>${escape(target)}`;
}

function byId<T extends { id: string }>(a: T, b: T): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function isSortedById(records: readonly LinkRecord[]): boolean {
  for (let i = 1; i < records.length; i++) {
    if (records[i - 1]!.id > records[i]!.id) {
      return false;
    }
  }
  return true;
}

export function linksToGraph(input: readonly LinkRecord[], opts: GraphOptions): GraphFrames {
  const { level } = opts;
  // Sums of fractional figures depend on their order: always add in id order (the collector
  // usually sends records sorted already, which saves the sort).
  const records = isSortedById(input) ? input : [...input].sort(byId);
  const ids = records.map((r) => nodeIds(r, level));
  const place = placement(records, ids, Math.max(1, opts.maxNodes ?? MAX_NODES));
  const nodes = new Map<string, NodeAcc>();
  const edges = new Map<string, EdgeAcc>();

  const nodeOf = (original: string, e: Endpoint): NodeAcc => {
    const id = place(original);
    let n = nodes.get(id);
    if (!n) {
      n = { id, endpoint: e, ips: new Set(), pids: new Set(), processes: new Set(), hosts: new Set(), folded: new Set(), ...emptyFigures() };
      nodes.set(id, n);
    }
    if (e.ip) {
      n.ips.add(e.ip);
    }
    if (e.pid !== undefined) {
      n.pids.add(String(e.pid));
    }
    if (e.process) {
      n.processes.add(e.process);
    }
    if (e.node) {
      n.hosts.add(e.node);
    }
    if (id !== original) {
      n.folded.add(original);
    }
    return n;
  };

  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const [clientId, serverId] = ids[i]!;
    const client = nodeOf(clientId, r.client);
    const server = nodeOf(serverId, r.server);
    addFigures(client, r);
    // A node talking to itself (after grouping) counts its traffic once and draws no edge.
    if (server === client) {
      continue;
    }
    addFigures(server, r);
    const id = edgeId(client.id, server.id);
    let e = edges.get(id);
    if (!e) {
      e = { id, source: client.id, target: server.id, sent: 0, received: 0, ports: new Set(), protocols: new Set(), ...emptyFigures() };
      edges.set(id, e);
    }
    addFigures(e, r);
    e.sent += r.bytesSent;
    e.received += r.bytesReceived;
    if (r.server.port !== undefined) {
      e.ports.add(r.server.port);
    }
    e.protocols.add(r.protocol);
  }

  return { nodes: nodesFrame([...nodes.values()].sort(byId), opts), edges: edgesFrame([...edges.values()].sort(byId), opts) };
}

function nodesFrame(nodes: NodeAcc[], opts: GraphOptions): DataFrame {
  const second: MainStat = opts.mainstat === 'connections' ? 'rtt' : 'connections';
  const shares = nodes.map(arcs);
  const title = (n: NodeAcc) => (n.id === OTHER_NODE ? `${n.folded.size} more` : nodeTitle(n.id, n.endpoint));
  const subtitle = (n: NodeAcc) => (n.id === OTHER_NODE ? 'other nodes' : nodeSubtitle(n.id, n.endpoint));
  const idConfig: FieldConfig = opts.explore ? { links: [nodeFlowsLink(opts.explore, opts.level)] } : {};
  return frame(
    'nodes',
    opts.refId,
    [
      field('id', STRING, nodes.map((n) => n.id), idConfig),
      field('title', STRING, nodes.map(title)),
      field('subtitle', STRING, nodes.map(subtitle)),
      field('mainstat', NUMBER, nodes.map((n) => measure(n, opts.mainstat)), STAT_CONFIG[opts.mainstat]),
      field('secondarystat', NUMBER, nodes.map((n) => measure(n, second)), STAT_CONFIG[second]),
      field('arc__healthy', NUMBER, shares.map((s) => s.healthy), { displayName: 'Healthy', color: { mode: 'fixed', fixedColor: 'green' } }),
      field('arc__retransmitting', NUMBER, shares.map((s) => s.retransmitting), { displayName: 'Retransmitting', color: { mode: 'fixed', fixedColor: 'orange' } }),
      field('arc__failed', NUMBER, shares.map((s) => s.failed), { displayName: 'Failed', color: { mode: 'fixed', fixedColor: 'red' } }),
      field('detail__ip', STRING, nodes.map((n) => list(n.ips)), { displayName: 'IP' }),
      field('detail__pid', STRING, nodes.map((n) => list(n.pids)), { displayName: 'PID' }),
      field('detail__process', STRING, nodes.map((n) => list(n.processes)), { displayName: 'Process' }),
      field('detail__node', STRING, nodes.map((n) => list(n.hosts)), { displayName: 'Node' }),
      field('color', STRING, nodes.map(healthColor)),
    ],
    'nodeGraph',
  );
}

function edgesFrame(edges: EdgeAcc[], opts: GraphOptions): DataFrame {
  const second: MainStat | 'failed' = opts.mainstat === 'rtt' ? 'failed' : 'rtt';
  // Thickness follows throughput; a history answer may carry no rates, then bytes.
  const weightOf = edges.some((e) => e.rate > 0) ? (e: EdgeAcc) => e.rate : (e: EdgeAcc) => e.bytes;
  const heaviest = Math.max(0, ...edges.map(weightOf));
  const thickness = (e: EdgeAcc) => (heaviest > 0 ? round(1 + 4 * Math.sqrt(weightOf(e) / heaviest), 2) : 1);
  const idConfig: FieldConfig = opts.explore ? { links: [edgeFlowsLink(opts.explore, opts.level)] } : {};
  return frame(
    'edges',
    opts.refId,
    [
      field('id', STRING, edges.map((e) => e.id), idConfig),
      field('source', STRING, edges.map((e) => e.source)),
      field('target', STRING, edges.map((e) => e.target)),
      field('mainstat', NUMBER, edges.map((e) => measure(e, opts.mainstat)), STAT_CONFIG[opts.mainstat]),
      field(
        'secondarystat',
        NUMBER,
        edges.map((e) => (second === 'failed' ? e.failed : measure(e, second))),
        second === 'failed' ? { displayName: 'Failed connections', unit: 'none' } : STAT_CONFIG[second],
      ),
      field('thickness', NUMBER, edges.map(thickness)),
      field('color', STRING, edges.map(healthColor)),
      field('detail__port', STRING, edges.map((e) => list(e.ports)), { displayName: 'Port' }),
      field('detail__protocol', STRING, edges.map((e) => list(e.protocols)), { displayName: 'Protocol' }),
      field('detail__bytes_sent', NUMBER, edges.map((e) => e.sent), { displayName: 'Bytes client → server', unit: 'decbytes' }),
      field('detail__bytes_received', NUMBER, edges.map((e) => e.received), { displayName: 'Bytes server → client', unit: 'decbytes' }),
      field('detail__connections', NUMBER, edges.map((e) => e.active), { displayName: 'Active connections', unit: 'none' }),
      field('detail__failed', NUMBER, edges.map((e) => e.failed), { displayName: 'Failed connections', unit: 'none' }),
      field('detail__retransmits', NUMBER, edges.map((e) => e.retransmits), { displayName: 'Retransmits', unit: 'none' }),
    ],
    'nodeGraph',
  );
}
