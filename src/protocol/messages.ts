// Every message on the collector's WebSocket, both directions. JSON text frames, one message each.
// docs/protocol.md is the contract, with an example of each.
import type { Endpoint, FlowRecord, LinkRecord, TableName } from './records.js';

/** Every aggregation level, finest first: what a client may offer and the server accepts. */
export const AGGREGATION_LEVELS = ['endpoint', 'process', 'netns', 'pod', 'workload', 'namespace', 'node'] as const;
export type AggregationLevel = (typeof AGGREGATION_LEVELS)[number];

/** The fields whose distinct values a `values` query lists (for template variables). */
export const VALUE_FIELDS = ['namespace', 'workload', 'node', 'netns', 'process', 'pod'] as const;
export type ValueField = (typeof VALUE_FIELDS)[number];

export interface Filters {
  /** Kubernetes namespace of either end. */
  namespace?: string;
  /** Endpoint kind of either end. */
  kind?: string;
  /** Server port (links) or either port (flows). */
  port?: number;
  protocol?: string;
  /** Substring (case-insensitive) of either end's name, process, pod, workload, dns or ip. */
  name?: string;
  /** Flows only: interface name. */
  interface?: string;
  /** Restrict to records touching this endpoint id / this pair (data links from the graph). */
  endpoint?: string;
  peer?: string;
}

export interface SubscriptionSpec {
  table: TableName;
  filter?: Filters;
  aggregate?: AggregationLevel;
  /** Keep at most this many records (largest by bytes), 0 or absent = no bound. */
  top?: number;
}

export interface KernelFeatures {
  kernelRelease: string;
  btf: boolean;
  ringbuf: boolean;
  tcx: boolean;
  bpfStats: boolean;
  tracepoints: Record<string, boolean>;
  kprobes: boolean;
}

export interface TableSizes {
  links: number;
  flows: number;
}

// ---- server → client ----

/** First message on every socket. */
export interface HelloMessage {
  type: 'hello';
  protocol: number;
  server: { name: 'weft-collector'; version: string; node: string };
  features: KernelFeatures;
  tables: TableSizes;
  /** Heartbeat interval the server keeps; a client should ping at least this often. */
  heartbeatMs: number;
}

export interface SnapshotMessage<R = LinkRecord | FlowRecord> {
  type: 'snapshot';
  /** Subscription id chosen by the client. */
  sub: string;
  seq: number;
  table: TableName;
  records: R[];
  /** Epoch ms the snapshot was taken. */
  time: number;
}

export interface DeltaMessage<R = LinkRecord | FlowRecord> {
  type: 'delta';
  sub: string;
  /** Exactly one more than the previous snapshot's or delta's seq on this subscription. */
  seq: number;
  table: TableName;
  /** New or changed records, whole. */
  upsert: R[];
  /** Ids of records gone. */
  remove: string[];
  time: number;
}

export interface ResultMessage<R = LinkRecord | FlowRecord> {
  type: 'result';
  /** The query's id. */
  id: string;
  table: TableName;
  from: number;
  to: number;
  records: R[];
}

export interface ValuesMessage {
  type: 'values';
  id: string;
  values: string[];
}

export interface PongMessage {
  type: 'pong';
  t: number;
}

export interface PingMessage {
  type: 'ping';
  t: number;
}

export type ErrorCode =
  | 'unauthorized'
  | 'forbidden-origin'
  | 'bad-ticket'
  | 'malformed'
  | 'unknown-type'
  | 'too-large'
  | 'protocol-version'
  | 'bad-request'
  | 'not-found'
  | 'heartbeat-timeout'
  | 'shutting-down'
  | 'internal';

export interface ErrorMessage {
  type: 'error';
  code: ErrorCode;
  message: string;
  /** The subscription or query id the error is about, when there is one. */
  ref?: string;
}

export type ServerMessage = HelloMessage | SnapshotMessage | DeltaMessage | ResultMessage | ValuesMessage | PingMessage | PongMessage | ErrorMessage;

// ---- client → server ----

/** A client's first message: the protocol version it speaks. */
export interface ClientHelloMessage {
  type: 'hello';
  protocol: number;
  client: string;
}

export interface SubscribeMessage extends SubscriptionSpec {
  type: 'subscribe';
  sub: string;
}

export interface UnsubscribeMessage {
  type: 'unsubscribe';
  sub: string;
}

/** Ask for a fresh snapshot (after a seq gap). */
export interface ResyncMessage {
  type: 'resync';
  sub: string;
}

/** Bytes moved within [from, to] (epoch ms), from the collector's history window. */
export interface QueryMessage extends SubscriptionSpec {
  type: 'query';
  id: string;
  from: number;
  to: number;
}

/** Distinct values of a field, for template variables. */
export interface ValuesQueryMessage {
  type: 'values';
  id: string;
  field: ValueField;
}

export type ClientMessage = ClientHelloMessage | SubscribeMessage | UnsubscribeMessage | ResyncMessage | QueryMessage | ValuesQueryMessage | PingMessage | PongMessage;

// ---- close codes ----

export const CloseCode = {
  /** Collector shutting down. */
  GoingAway: 1001,
  TooLarge: 1009,
  Malformed: 4400,
  Unauthorized: 4401,
  ForbiddenOrigin: 4403,
  ProtocolVersion: 4406,
  HeartbeatTimeout: 4408,
} as const;

// ---- HTTP (same port) ----

/** POST /api/ticket (bearer token) with this body → TicketResponse. */
export interface TicketRequest {
  origin: string;
}
export interface TicketResponse {
  ticket: string;
  /** Epoch ms after which the ticket is refused. */
  expiresAt: number;
}

/** GET /api/status (bearer token): what Save & test shows. */
export interface StatusResponse {
  protocol: number;
  version: string;
  node: string;
  features: KernelFeatures;
  tables: TableSizes;
}

export type { Endpoint };
