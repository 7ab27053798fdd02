// Flow records → one table frame. No column is named `id` or `source`: the Node Graph panel would
// take such a frame for its nodes or edges.
import type { DataFrame } from '@grafana/data';
import { TCP_FLAG_NAMES, type Endpoint, type FlowRecord } from '../../protocol/index.js';
import { BOOLEAN, field, frame, NUMBER, STRING, TIME } from './frame.js';

export interface FlowTableOptions {
  refId: string;
  /** Keep the largest this many rows by bytes; 0 or absent = all. */
  top?: number;
}

export function tcpFlagNames(flags: number): string {
  return TCP_FLAG_NAMES.filter((_, bit) => flags & (1 << bit)).join(',');
}

function endpointName(e: Endpoint | undefined): string {
  return e?.name ?? e?.pod ?? e?.process ?? e?.dns ?? '';
}

/** Largest first; equal bytes by id, so the order is the same for the same input. */
function order(a: FlowRecord, b: FlowRecord): number {
  return b.bytes - a.bytes || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function flowsToTable(input: readonly FlowRecord[], opts: FlowTableOptions): DataFrame {
  const sorted = [...input].sort(order);
  const rows = opts.top ? sorted.slice(0, opts.top) : sorted;
  const col = <T>(f: (r: FlowRecord) => T) => rows.map(f);
  return frame(
    'flows',
    opts.refId,
    [
      field('src', STRING, col((r) => r.src), { displayName: 'Source IP' }),
      field('src_name', STRING, col((r) => endpointName(r.srcEndpoint)), { displayName: 'Source name' }),
      field('src_port', NUMBER, col((r) => r.srcPort), { displayName: 'Source port', unit: 'none' }),
      field('dst', STRING, col((r) => r.dst), { displayName: 'Destination IP' }),
      field('dst_name', STRING, col((r) => endpointName(r.dstEndpoint)), { displayName: 'Destination name' }),
      field('dst_port', NUMBER, col((r) => r.dstPort), { displayName: 'Destination port', unit: 'none' }),
      field('protocol', STRING, col((r) => r.protocol), { displayName: 'Protocol' }),
      field('interface', STRING, col((r) => r.interface), { displayName: 'Interface' }),
      field('direction', STRING, col((r) => r.direction), { displayName: 'Direction' }),
      field('packets', NUMBER, col((r) => r.packets), { displayName: 'Packets', unit: 'none' }),
      field('bytes', NUMBER, col((r) => r.bytes), { displayName: 'Bytes', unit: 'decbytes' }),
      field('payload_bytes', NUMBER, col((r) => r.payloadBytes), { displayName: 'Payload bytes', unit: 'decbytes' }),
      field('rate', NUMBER, col((r) => r.rate), { displayName: 'Rate', unit: 'Bps' }),
      field('tcp_flags', STRING, col((r) => tcpFlagNames(r.tcpFlags)), { displayName: 'TCP flags' }),
      field('duplicate', BOOLEAN, col((r) => r.duplicate === true), { displayName: 'Duplicate' }),
      field('first_seen', TIME, col((r) => r.firstSeen), { displayName: 'First seen' }),
      field('last_seen', TIME, col((r) => r.lastSeen), { displayName: 'Last seen' }),
    ],
    'table',
  );
}
