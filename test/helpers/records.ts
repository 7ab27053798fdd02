// Plain link and flow records for the server's tests and benches.
import type { Endpoint, FlowRecord, LinkRecord } from '../../src/protocol/index.js';

export function link(n: number, over: Partial<LinkRecord> = {}): LinkRecord {
  const client: Endpoint = { ip: `10.51.${(n >> 8) & 255}.${n & 255}`, netns: 'netns:[4026531840]', pid: 1000 + n, process: 'curl', kind: 'process', name: `client-${n}` };
  const server: Endpoint = { ip: '10.51.255.1', port: 8080, netns: 'netns:[4026531841]', pid: 42, process: 'nginx', kind: 'process', name: 'web' };
  return {
    id: `l${String(n).padStart(6, '0')}`,
    client,
    server,
    protocol: 'tcp',
    bytesSent: 100 * n,
    bytesReceived: 1000 * n,
    sendRate: 0,
    receiveRate: 0,
    connections: { active: 1, closed: 0, failed: 0 },
    rttMs: 0.1,
    retransmits: 0,
    firstSeen: 1_700_000_000_000,
    lastSeen: 1_700_000_000_000,
    ...over,
  };
}

export function flow(n: number, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id: `f${String(n).padStart(6, '0')}`,
    src: `10.51.0.${n & 255}`,
    dst: '10.51.255.1',
    srcPort: 40000 + n,
    dstPort: 8080,
    protocol: 'tcp',
    interface: 'eth0',
    ifindex: 2,
    direction: 'egress',
    packets: n,
    bytes: 60 * n,
    payloadBytes: 10 * n,
    tcpFlags: 0x18,
    rate: 0,
    firstSeen: 1_700_000_000_000,
    lastSeen: 1_700_000_000_000,
    ...over,
  };
}
