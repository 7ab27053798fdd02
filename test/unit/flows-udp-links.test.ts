import { describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/protocol/index.js';
import { udpLinks } from '../../src/collector/tables/udp-links.js';

function flow(src: string, srcPort: number, dst: string, dstPort: number, payloadBytes: number, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: `${src}:${srcPort}>${dst}:${dstPort}:${over.interface ?? 'eth0'}`, src, dst, srcPort, dstPort, protocol: 'udp', interface: 'eth0', ifindex: 2,
    direction: 'egress', packets: 1, bytes: payloadBytes + 28, payloadBytes, tcpFlags: 0, rate: 10, firstSeen: 1000, lastSeen: 2000, ...over,
  };
}

describe('udp links from flows', () => {
  it('makes the listening side the server, whichever way the packets go', () => {
    const links = udpLinks(
      [flow('10.41.0.1', 40000, '10.41.0.2', 5353, 300), flow('10.41.0.2', 5353, '10.41.0.1', 40000, 1200, { direction: 'ingress' })],
      { listeners: [{ port: 5353 }], nowMs: 2500, idleTimeoutMs: 5000 },
    );
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({
      id: 'udp:10.41.0.1>10.41.0.2:5353', protocol: 'udp', client: { ip: '10.41.0.1' }, server: { ip: '10.41.0.2', port: 5353 },
      bytesSent: 300, bytesReceived: 1200, sendRate: 10, receiveRate: 10, connections: { active: 1, closed: 0, failed: 0 },
    });
  });

  it('honours the bound address and falls back to the lower port', () => {
    const bound = udpLinks([flow('10.41.0.2', 9000, '10.41.0.1', 40000, 5)], { listeners: [{ ip: '10.41.0.2', port: 9000 }], nowMs: 0, idleTimeoutMs: 1 });
    expect(bound[0]!.server).toEqual({ ip: '10.41.0.2', port: 9000 });
    const otherAddr = udpLinks([flow('10.41.0.2', 9000, '10.41.0.1', 400, 5)], { listeners: [{ ip: '10.41.0.9', port: 9000 }], nowMs: 0, idleTimeoutMs: 1 });
    expect(otherAddr[0]!.server).toEqual({ ip: '10.41.0.1', port: 400 });
  });

  it('counts client ports as conversations, skips duplicates and other protocols', () => {
    const links = udpLinks(
      [
        flow('10.41.0.1', 40000, '10.41.0.2', 53, 10, { lastSeen: 9000 }),
        flow('10.41.0.1', 40001, '10.41.0.2', 53, 10, { lastSeen: 1000 }),
        flow('10.41.0.1', 40001, '10.41.0.2', 53, 10, { duplicate: true, interface: 'br0' }),
        flow('10.41.0.1', 40002, '10.41.0.2', 80, 10, { protocol: 'tcp' }),
      ],
      { listeners: [], nowMs: 10_000, idleTimeoutMs: 5000 },
    );
    expect(links).toHaveLength(1);
    expect(links[0]!.bytesSent).toBe(20);
    expect(links[0]!.connections).toEqual({ active: 1, closed: 1, failed: 0 });
  });
});
