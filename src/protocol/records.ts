// The two tables' records as they travel on the wire and in `weft links --json` / `weft flows --json`.
// Field meanings: ../../docs/protocol.md.

/** What an endpoint was resolved to. `external`/`unknown` when nothing better is known. */
export type EndpointKind = 'pod' | 'service' | 'process' | 'netns' | 'container' | 'node' | 'external' | 'unknown';

export interface Endpoint {
  /** Graph node id at the subscription's aggregation level (see ./endpoint-id.ts); set by the collector. */
  id?: string;
  ip: string;
  /** Server side only: the port the client connected to. */
  port?: number;
  /** Network namespace: its name (from /run/netns or a process inside it), else `netns:[INODE]`. */
  netns?: string;
  netnsInode?: number;
  pid?: number;
  /** Process name (comm). */
  process?: string;
  command?: string;
  container?: string;
  runtime?: string;
  pod?: string;
  workload?: string;
  workloadKind?: string;
  /** Kubernetes namespace. */
  namespace?: string;
  node?: string;
  dns?: string;
  /** Best display name for this endpoint at the level it was resolved to. */
  name?: string;
  kind?: EndpointKind;
}

export interface ConnectionCounts {
  active: number;
  closed: number;
  /** Connects that never reached ESTABLISHED (refused, timed out, reset during handshake). */
  failed: number;
}

export type TransportProtocol = 'tcp' | 'udp';

export interface LinkRecord {
  /** Stable: the same link has the same id in every snapshot. */
  id: string;
  client: Endpoint;
  server: Endpoint;
  protocol: TransportProtocol;
  /** Application payload bytes client → server, exact. */
  bytesSent: number;
  /** Application payload bytes server → client, exact. */
  bytesReceived: number;
  /** Bytes per second over the rate window, each way. */
  sendRate: number;
  receiveRate: number;
  connections: ConnectionCounts;
  /** Smoothed RTT in milliseconds (latest), absent when not measured. */
  rttMs?: number;
  retransmits: number;
  /** Epoch milliseconds. */
  firstSeen: number;
  lastSeen: number;
  /** Extra facts worth showing, e.g. `vip` for a NATed service address. */
  details?: Record<string, string>;
}

export type FlowProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'other';

/** The bits of FlowRecord.tcpFlags, lowest first: FIN = 0x01 … CWR = 0x80. */
export const TCP_FLAG_NAMES = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const;
export type Direction = 'ingress' | 'egress';

export interface FlowRecord {
  id: string;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: FlowProtocol;
  interface: string;
  ifindex: number;
  /** Network namespace the interface lives in (name or `netns:[INODE]`). */
  netns?: string;
  direction: Direction;
  /** Packets as a NIC would send them: a GSO super-packet counts as its segments. */
  packets: number;
  /** IP bytes (IP header and everything after it, no Ethernet header), per segment. */
  bytes: number;
  /** Transport payload bytes, the same whatever the segmentation. */
  payloadBytes: number;
  /** Union of TCP flags seen (FIN=0x01 … CWR=0x80). */
  tcpFlags: number;
  /** Bytes per second over the rate window. */
  rate: number;
  firstSeen: number;
  lastSeen: number;
  /** True when the same packets were already counted on another interface of this host. */
  duplicate?: boolean;
  /** Names resolved for the two ends (absent when nothing is known). */
  srcEndpoint?: Endpoint;
  dstEndpoint?: Endpoint;
  /** Sampling rate in force when these figures were taken (1 = every packet). */
  sampling?: number;
}

export type TableName = 'links' | 'flows';
export type TableRecord<T extends TableName> = T extends 'links' ? LinkRecord : FlowRecord;
