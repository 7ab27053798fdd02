import { describe, expect, it } from 'vitest';
import type { DataFrame } from '@grafana/data';
import { linksToGraph, MAX_NODES, OTHER_NODE } from '../../src/plugin/frames/index.js';
import { link } from './frames-fixtures.js';

const col = (f: DataFrame, name: string) => {
  const found = f.fields.find((x) => x.name === name);
  if (!found) throw new Error(`no field ${name} in ${f.name}`);
  return found.values;
};

const web = { ip: '10.61.0.2', port: 80, netns: 'web', pid: 200, process: 'nginx', kind: 'process' as const, node: 'h1' };
const cli = { ip: '10.61.0.1', netns: 'cli', pid: 100, process: 'curl', kind: 'process' as const, node: 'h1' };
const db = { ip: '10.61.0.3', port: 5432, netns: 'db', pid: 300, process: 'postgres', kind: 'process' as const, node: 'h2' };

const records = [
  link('l2', web, db, { bytesSent: 300, bytesReceived: 3000, sendRate: 10, receiveRate: 100, connections: { active: 2, closed: 0, failed: 0 }, rttMs: 0.5 }),
  link('l1', cli, web, { bytesSent: 120, bytesReceived: 4000, sendRate: 12, receiveRate: 400, connections: { active: 1, closed: 2, failed: 1 }, rttMs: 0.25, retransmits: 3 }),
];

describe('linksToGraph', () => {
  it('emits nodes and edges frames with the Node Graph field names', () => {
    const { nodes, edges } = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'throughput' });
    expect(nodes.fields.map((f) => f.name)).toEqual([
      'id', 'title', 'subtitle', 'mainstat', 'secondarystat', 'arc__healthy', 'arc__retransmitting', 'arc__failed',
      'detail__ip', 'detail__pid', 'detail__process', 'detail__node', 'color',
    ]);
    expect(edges.fields.map((f) => f.name)).toEqual([
      'id', 'source', 'target', 'mainstat', 'secondarystat', 'thickness', 'color', 'detail__port', 'detail__protocol',
      'detail__bytes_sent', 'detail__bytes_received', 'detail__connections', 'detail__failed', 'detail__retransmits',
    ]);
    for (const f of [nodes, edges]) {
      expect(f.meta?.preferredVisualisationType).toBe('nodeGraph');
      expect(f.refId).toBe('A');
    }
    expect(nodes.name).toBe('nodes');
    expect(edges.name).toBe('edges');
  });

  it('gives each node its name, kind, figures, health arcs and details', () => {
    const { nodes } = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'throughput' });
    expect(nodes.length).toBe(3);
    expect(col(nodes, 'id')).toEqual(['process:cli/curl', 'process:db/postgres', 'process:web/nginx']);
    expect(col(nodes, 'title')).toEqual(['curl', 'postgres', 'nginx']);
    expect(col(nodes, 'subtitle')).toEqual(['process · cli', 'process · db', 'process · web']);
    // nginx carries both links: 12 + 400 + 10 + 100 bytes/s.
    expect(col(nodes, 'mainstat')).toEqual([412, 110, 522]);
    expect(nodes.fields.find((f) => f.name === 'mainstat')?.config.unit).toBe('Bps');
    expect(col(nodes, 'secondarystat')).toEqual([1, 2, 3]);
    // curl: 3 established on a retransmitting link + 1 failed; nginx adds 2 healthy from l2.
    expect(col(nodes, 'arc__healthy')).toEqual([0, 1, 2 / 6]);
    expect(col(nodes, 'arc__retransmitting')).toEqual([3 / 4, 0, 3 / 6]);
    expect(col(nodes, 'arc__failed')).toEqual([1 / 4, 0, 1 / 6]);
    expect(col(nodes, 'detail__ip')).toEqual(['10.61.0.1', '10.61.0.3', '10.61.0.2']);
    expect(col(nodes, 'detail__pid')).toEqual(['100', '300', '200']);
    expect(col(nodes, 'detail__process')).toEqual(['curl', 'postgres', 'nginx']);
    expect(col(nodes, 'detail__node')).toEqual(['h1', 'h2', 'h1']);
    expect(col(nodes, 'color')).toEqual(['orange', 'green', 'orange']);
  });

  it('draws one edge per client → server pair with exact bytes each way', () => {
    const { edges } = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'throughput' });
    expect(col(edges, 'id')).toEqual(['process:cli/curl>process:web/nginx', 'process:web/nginx>process:db/postgres']);
    expect(col(edges, 'source')).toEqual(['process:cli/curl', 'process:web/nginx']);
    expect(col(edges, 'target')).toEqual(['process:web/nginx', 'process:db/postgres']);
    expect(col(edges, 'mainstat')).toEqual([412, 110]);
    expect(col(edges, 'secondarystat')).toEqual([0.25, 0.5]);
    // 1 + 4·√(110/412)
    expect(col(edges, 'thickness')).toEqual([5, 3.07]);
    expect(col(edges, 'color')).toEqual(['orange', 'green']);
    expect(col(edges, 'detail__port')).toEqual(['80', '5432']);
    expect(col(edges, 'detail__protocol')).toEqual(['tcp', 'tcp']);
    expect(col(edges, 'detail__bytes_sent')).toEqual([120, 300]);
    expect(col(edges, 'detail__bytes_received')).toEqual([4000, 3000]);
    expect(col(edges, 'detail__connections')).toEqual([1, 2]);
    expect(col(edges, 'detail__failed')).toEqual([1, 0]);
    expect(col(edges, 'detail__retransmits')).toEqual([3, 0]);
  });

  it('shows the chosen stat as mainstat and switches the secondary one', () => {
    const bytes = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'bytes' });
    expect(col(bytes.nodes, 'mainstat')).toEqual([4120, 3300, 7420]);
    expect(col(bytes.edges, 'mainstat')).toEqual([4120, 3300]);
    const conns = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'connections' });
    expect(col(conns.nodes, 'mainstat')).toEqual([1, 2, 3]);
    expect(col(conns.nodes, 'secondarystat')).toEqual([0.25, 0.5, 0.375]);
    const rtt = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'rtt' });
    expect(col(rtt.edges, 'mainstat')).toEqual([0.25, 0.5]);
    expect(col(rtt.edges, 'secondarystat')).toEqual([1, 0]);
    expect(rtt.edges.fields.find((f) => f.name === 'secondarystat')?.config.displayName).toBe('Failed connections');
  });

  it('uses the collector-set endpoint id and merges records of the same pair', () => {
    const a = { ...cli, id: 'workload:shop/Deployment/front' , workload: 'front', workloadKind: 'Deployment', namespace: 'shop' };
    const b = { ...web, id: 'workload:shop/Deployment/api', workload: 'api', workloadKind: 'Deployment', namespace: 'shop' };
    const a2 = { ...a, ip: '10.61.0.9', pid: 101 };
    const b2 = { ...b, port: 8080 };
    const { nodes, edges } = linksToGraph(
      [link('x1', a, b, { bytesSent: 5, bytesReceived: 7 }), link('x2', a2, b2, { bytesSent: 11, bytesReceived: 13, protocol: 'udp' })],
      { refId: 'B', level: 'workload', mainstat: 'bytes' },
    );
    expect(col(nodes, 'id')).toEqual(['workload:shop/Deployment/api', 'workload:shop/Deployment/front']);
    expect(col(nodes, 'title')).toEqual(['api', 'front']);
    expect(col(nodes, 'subtitle')).toEqual(['Deployment · shop', 'Deployment · shop']);
    expect(col(nodes, 'detail__ip')).toEqual(['10.61.0.2', '10.61.0.1, 10.61.0.9']);
    expect(col(nodes, 'detail__pid')).toEqual(['200', '100, 101']);
    expect(col(edges, 'id')).toEqual(['workload:shop/Deployment/front>workload:shop/Deployment/api']);
    expect(col(edges, 'detail__port')).toEqual(['80, 8080']);
    expect(col(edges, 'detail__protocol')).toEqual(['tcp, udp']);
    expect(col(edges, 'detail__bytes_sent')).toEqual([16]);
    expect(col(edges, 'detail__bytes_received')).toEqual([20]);
  });

  it('groups at the requested level when the collector did not set ids', () => {
    const { nodes, edges } = linksToGraph(records, { refId: 'A', level: 'node', mainstat: 'bytes' });
    expect(col(nodes, 'id')).toEqual(['node:h1', 'node:h2']);
    expect(col(nodes, 'title')).toEqual(['h1', 'h2']);
    // curl → nginx is inside h1: no self edge, but its bytes count for h1.
    expect(col(edges, 'id')).toEqual(['node:h1>node:h2']);
    expect(col(nodes, 'mainstat')).toEqual([7420, 3300]);
  });

  it('names endpoints with unknown or missing names by address and says unknown', () => {
    const bare = { ip: '10.61.0.7' };
    const ext = { ip: '10.61.9.9', port: 443, kind: 'external' as const, dns: 'example.test' };
    const { nodes, edges } = linksToGraph([link('u1', bare, ext, { bytesSent: 1, bytesReceived: 2 })], { refId: 'A', level: 'pod', mainstat: 'bytes' });
    expect(col(nodes, 'id')).toEqual(['ip:10.61.0.7', 'ip:10.61.9.9']);
    expect(col(nodes, 'title')).toEqual(['10.61.0.7', 'example.test']);
    expect(col(nodes, 'subtitle')).toEqual(['unknown', 'external']);
    expect(col(nodes, 'detail__pid')).toEqual(['', '']);
    expect(col(nodes, 'detail__process')).toEqual(['', '']);
    expect(col(nodes, 'detail__node')).toEqual(['', '']);
    expect(col(nodes, 'arc__healthy')).toEqual([1, 1]);
    expect(col(nodes, 'secondarystat')).toEqual([0, 0]);
    expect(col(edges, 'secondarystat')).toEqual([null]);
  });

  it('gives empty frames with all fields for no records', () => {
    const { nodes, edges } = linksToGraph([], { refId: 'A', level: 'process', mainstat: 'throughput' });
    expect(nodes.length).toBe(0);
    expect(edges.length).toBe(0);
    expect(nodes.fields.length).toBe(13);
    expect(edges.fields.length).toBe(14);
    expect(nodes.fields.every((f) => f.values.length === 0)).toBe(true);
  });

  it('keeps at most 200 nodes, folding the smallest into one "other" node, with no dangling edge', () => {
    const hub = { ip: '10.62.0.1', port: 80 };
    const many = Array.from({ length: 450 }, (_, i) =>
      link(`m${String(i).padStart(3, '0')}`, { ip: `10.62.${1 + Math.floor(i / 200)}.${i % 200}` }, hub, { bytesSent: i + 1, bytesReceived: 0, sendRate: i + 1 }),
    );
    const { nodes, edges } = linksToGraph(many, { refId: 'A', level: 'endpoint', mainstat: 'bytes' });
    expect(nodes.length).toBe(MAX_NODES);
    const ids = col(nodes, 'id') as string[];
    expect(ids).toContain(OTHER_NODE);
    expect(ids).toContain('ip:10.62.0.1');
    // The 198 largest clients (i = 252..449) stay; the 252 smallest are folded.
    expect(ids).toContain('ip:10.62.2.52');
    expect(ids).not.toContain('ip:10.62.2.51');
    const other = ids.indexOf(OTHER_NODE);
    expect(col(nodes, 'title')[other]).toBe('252 more');
    expect(col(nodes, 'mainstat')[other]).toBe((252 * 253) / 2);
    const known = new Set(ids);
    for (const name of ['source', 'target']) for (const v of col(edges, name)) expect(known.has(v)).toBe(true);
    expect(edges.length).toBe(199);
    const otherEdge = (col(edges, 'id') as string[]).indexOf('other>ip:10.62.0.1');
    expect(col(edges, 'detail__bytes_sent')[otherEdge]).toBe((252 * 253) / 2);
    expect(linksToGraph(many, { refId: 'A', level: 'endpoint', mainstat: 'bytes', maxNodes: 10 }).nodes.length).toBe(10);
  });

  it('has no dangling edge for any input', () => {
    const eps = Array.from({ length: 30 }, (_, i) => ({ ip: `10.61.1.${i}`, port: 1000 + (i % 3), netns: `n${i % 4}`, process: i % 5 ? `p${i % 7}` : undefined }));
    const rs = Array.from({ length: 120 }, (_, i) => link(`r${i}`, eps[(i * 7) % 30]!, eps[(i * 11 + 3) % 30]!, { bytesSent: (i * 37) % 101 }));
    for (const level of ['endpoint', 'process', 'netns', 'pod', 'workload', 'namespace', 'node'] as const) {
      const { nodes, edges } = linksToGraph(rs, { refId: 'A', level, mainstat: 'bytes', maxNodes: 8 });
      const known = new Set(col(nodes, 'id'));
      expect(nodes.length).toBeLessThanOrEqual(8);
      for (const name of ['source', 'target']) for (const v of col(edges, name)) expect(known.has(v)).toBe(true);
    }
  });

  it('gives equal frames (same ids, same order) for the same input, whatever its order', () => {
    const opts = { refId: 'A', level: 'process' as const, mainstat: 'throughput' as const };
    const first = linksToGraph(records, opts);
    expect(linksToGraph(records, opts)).toEqual(first);
    expect(linksToGraph([...records].reverse(), opts)).toEqual(first);
  });

  it('adds Explore links to the flows of a node and of a pair', () => {
    const { nodes, edges } = linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'bytes', explore: { uid: 'weft', name: 'Weft' } });
    const nodeLink = nodes.fields[0]!.config.links![0]!;
    expect(nodeLink.title).toBe('Flows of this node');
    expect(nodeLink.internal).toEqual({
      datasourceUid: 'weft',
      datasourceName: 'Weft',
      query: { refId: 'A', table: 'flows', aggregate: 'process', filter: { endpoint: '${__data.fields.id}' }, top: 500, mainstat: 'bytes', live: false },
    });
    const edgeLink = edges.fields[0]!.config.links![0]!;
    expect(edgeLink.internal?.query).toMatchObject({ table: 'flows', filter: { endpoint: '${__data.fields.source}', peer: '${__data.fields.target}' } });
    expect(linksToGraph(records, { refId: 'A', level: 'process', mainstat: 'bytes' }).nodes.fields[0]!.config.links).toBeUndefined();
  });
});
