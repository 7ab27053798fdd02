import { describe, expect, it } from 'vitest';
import { flowsToTable, frameSignature, linksToGraph, tcpFlagNames } from '../../src/plugin/frames/index.js';
import { flow, link } from './frames-fixtures.js';

describe('flowsToTable', () => {
  const rows = [
    flow('f1', { bytes: 500, packets: 5, payloadBytes: 300, tcpFlags: 0x12, srcEndpoint: { ip: '10.61.0.1', process: 'curl' }, dstEndpoint: { ip: '10.61.0.2', name: 'web' } }),
    flow('f2', { bytes: 9000, packets: 7, payloadBytes: 8640, direction: 'ingress', interface: 'eth1', protocol: 'udp', srcPort: 53, dstPort: 5353, duplicate: true }),
    flow('f0', { bytes: 500, packets: 4 }),
  ];

  it('makes a table frame with no column named id or source', () => {
    const t = flowsToTable(rows, { refId: 'F' });
    const names = t.fields.map((f) => f.name);
    expect(names).toEqual([
      'src', 'src_name', 'src_port', 'dst', 'dst_name', 'dst_port', 'protocol', 'interface', 'direction',
      'packets', 'bytes', 'payload_bytes', 'rate', 'tcp_flags', 'duplicate', 'first_seen', 'last_seen',
    ]);
    expect(names).not.toContain('id');
    expect(names).not.toContain('source');
    expect(t.meta?.preferredVisualisationType).toBe('table');
    expect(t.refId).toBe('F');
  });

  it('orders rows by bytes, then id, with exact figures and names', () => {
    const t = flowsToTable(rows, { refId: 'F' });
    const v = (name: string) => t.fields.find((f) => f.name === name)!.values;
    expect(t.length).toBe(3);
    expect(v('bytes')).toEqual([9000, 500, 500]);
    expect(v('packets')).toEqual([7, 4, 5]);
    expect(v('payload_bytes')).toEqual([8640, 0, 300]);
    expect(v('src_name')).toEqual(['', '', 'curl']);
    expect(v('dst_name')).toEqual(['', '', 'web']);
    expect(v('protocol')).toEqual(['udp', 'tcp', 'tcp']);
    expect(v('src_port')).toEqual([53, 40000, 40000]);
    expect(v('direction')).toEqual(['ingress', 'egress', 'egress']);
    expect(v('interface')).toEqual(['eth1', 'veth0', 'veth0']);
    expect(v('tcp_flags')).toEqual(['SYN', 'SYN', 'SYN,ACK']);
    expect(v('duplicate')).toEqual([true, false, false]);
    expect(v('first_seen')).toEqual([1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_000]);
  });

  it('keeps the top rows by bytes', () => {
    expect(flowsToTable(rows, { refId: 'F', top: 1 }).fields[0]!.values).toEqual(['10.61.0.1']);
    expect(flowsToTable(rows, { refId: 'F', top: 1 }).fields.find((f) => f.name === 'bytes')!.values).toEqual([9000]);
  });

  it('gives an empty table for no flows', () => {
    const t = flowsToTable([], { refId: 'F' });
    expect(t.length).toBe(0);
    expect(t.fields.length).toBe(17);
  });

  it('is the same for the same flows in any order', () => {
    expect(flowsToTable([...rows].reverse(), { refId: 'F' })).toEqual(flowsToTable(rows, { refId: 'F' }));
  });

  it('names TCP flags', () => {
    expect(tcpFlagNames(0)).toBe('');
    expect(tcpFlagNames(0x11)).toBe('FIN,ACK');
    expect(tcpFlagNames(0xff)).toBe('FIN,SYN,RST,PSH,ACK,URG,ECE,CWR');
  });
});

describe('frameSignature', () => {
  const a = link('a', { ip: '10.61.0.1' }, { ip: '10.61.0.2', port: 80 }, { bytesSent: 10, sendRate: 1 });
  const opts = { refId: 'A', level: 'endpoint' as const, mainstat: 'throughput' as const };
  const sig = (rs: typeof a[]) => { const g = linksToGraph(rs, opts); return frameSignature([g.nodes, g.edges]); };

  it('is equal when nothing shown changed and differs when a figure moved', () => {
    expect(sig([a])).toBe(sig([{ ...a }]));
    expect(sig([{ ...a, lastSeen: a.lastSeen + 1000 }])).toBe(sig([a]));
    expect(sig([{ ...a, bytesSent: 11 }])).not.toBe(sig([a]));
    expect(sig([{ ...a, sendRate: 2 }])).not.toBe(sig([a]));
  });
});
