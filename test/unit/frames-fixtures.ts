// Link and flow records for the frames tests and bench: plain data, as the collector sends them.
import type { Endpoint, FlowRecord, LinkRecord } from '../../src/protocol/index.js';

export function link(id: string, client: Endpoint, server: Endpoint, over: Partial<LinkRecord> = {}): LinkRecord {
  return {
    id,
    client,
    server,
    protocol: 'tcp',
    bytesSent: 0,
    bytesReceived: 0,
    sendRate: 0,
    receiveRate: 0,
    connections: { active: 0, closed: 0, failed: 0 },
    retransmits: 0,
    firstSeen: 1_700_000_000_000,
    lastSeen: 1_700_000_060_000,
    ...over,
  };
}

export function flow(id: string, over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id,
    src: '10.61.0.1',
    dst: '10.61.0.2',
    srcPort: 40000,
    dstPort: 80,
    protocol: 'tcp',
    interface: 'veth0',
    ifindex: 2,
    direction: 'egress',
    packets: 1,
    bytes: 60,
    payloadBytes: 0,
    tcpFlags: 0x02,
    rate: 0,
    firstSeen: 1_700_000_000_000,
    lastSeen: 1_700_000_001_000,
    ...over,
  };
}
