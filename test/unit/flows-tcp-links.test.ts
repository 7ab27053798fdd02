import { describe, expect, it } from 'vitest';
import type { FlowRecord, LinkRecord } from '../../src/protocol/index.js';
import { confirmTcpLinks } from '../../src/collector/tables/flows-tcp-links.js';

const link = (id: string, client: string, server: string, port: number, protocol: 'tcp' | 'udp' = 'tcp'): LinkRecord => ({
  id, client: { ip: client }, server: { ip: server, port }, protocol, bytesSent: 0, bytesReceived: 0, sendRate: 0, receiveRate: 0,
  connections: { active: 1, closed: 0, failed: 0 }, retransmits: 0, firstSeen: 0, lastSeen: 0,
});

const flow = (src: string, srcPort: number, dst: string, dstPort: number, payloadBytes: number, over: Partial<FlowRecord> = {}): FlowRecord => ({
  id: `${src}:${srcPort}>${dst}:${dstPort}`, src, dst, srcPort, dstPort, protocol: 'tcp', interface: 'eth0', ifindex: 2, direction: 'egress',
  packets: 2, bytes: payloadBytes + 104, payloadBytes, tcpFlags: 0x10, rate: 0, firstSeen: 0, lastSeen: 0, ...over,
});

describe('tcp flows confirm links', () => {
  it('adds both directions of every client port to the link', () => {
    const w = confirmTcpLinks(
      [link('L', '10.41.0.1', '10.41.0.2', 80), link('U', '10.41.0.1', '10.41.0.2', 80, 'udp')],
      [
        flow('10.41.0.1', 40000, '10.41.0.2', 80, 100),
        flow('10.41.0.1', 40001, '10.41.0.2', 80, 50),
        flow('10.41.0.2', 80, '10.41.0.1', 40000, 1000, { direction: 'ingress' }),
        flow('10.41.0.2', 80, '10.41.0.1', 40000, 1000, { duplicate: true, interface: 'br0' }),
        flow('10.41.0.1', 40002, '10.41.0.2', 81, 7),
      ],
    );
    expect([...w.keys()]).toEqual(['L']);
    expect(w.get('L')).toEqual({ packetsSent: 4, packetsReceived: 2, bytesSent: 358, bytesReceived: 1104, payloadSent: 150, payloadReceived: 1000 });
  });

  it('leaves links no flow saw unconfirmed', () => {
    expect(confirmTcpLinks([link('L', '127.0.0.1', '127.0.0.1', 80)], [flow('10.41.0.1', 1, '10.41.0.2', 80, 1)]).size).toBe(0);
  });
});
