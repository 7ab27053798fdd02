// Byte layouts of bpf/flows.h, read from the Buffers the addon returns. The integration test
// checks these sizes against the map definitions the kernel loaded.
import { formatAddress, parseAddress } from '../tables/flows-address.js';

export const FLOW_KEY_SIZE = 48;
export const FLOW_VALUE_SIZE = 48;
export const FLOW_EVENT_SIZE = FLOW_KEY_SIZE + FLOW_VALUE_SIZE;

export const DIRECTION_INGRESS = 0;
export const DIRECTION_EGRESS = 1;

/** Indexes of the per-CPU flow_counters array (enum flow_counter). */
export const FLOW_COUNTERS = ['unparsed', 'overflow', 'ringLost', 'nonIp', 'sampledOut', 'filtered'] as const;
export const FLOW_COUNTER_SLOTS = 8;
export type FlowCounterName = (typeof FLOW_COUNTERS)[number];
export type FlowCounters = Record<FlowCounterName, number>;

export interface FlowKey {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  /** IPPROTO_* number. */
  proto: number;
  ifindex: number;
  /** Inode of the interface's network namespace. */
  netnsInode: number;
  direction: 'ingress' | 'egress';
}

export interface FlowFigures {
  packets: number;
  bytes: number;
  payloadBytes: number;
  /** CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
  firstNs: number;
  lastNs: number;
  tcpFlags: number;
}

export interface FlowSample {
  key: FlowKey;
  figures: FlowFigures;
}

const u64 = (b: Buffer, off: number): number => Number(b.readBigUInt64LE(off));

export function decodeKey(b: Buffer, off = 0): FlowKey {
  return {
    src: formatAddress(b.subarray(off, off + 16)),
    dst: formatAddress(b.subarray(off + 16, off + 32)),
    srcPort: b.readUInt16LE(off + 32),
    dstPort: b.readUInt16LE(off + 34),
    ifindex: b.readUInt32LE(off + 36),
    netnsInode: b.readUInt32LE(off + 40),
    proto: b.readUInt8(off + 44),
    direction: b.readUInt8(off + 45) === DIRECTION_EGRESS ? 'egress' : 'ingress',
  };
}

export function decodeFigures(b: Buffer, off = 0): FlowFigures {
  return {
    packets: u64(b, off),
    bytes: u64(b, off + 8),
    payloadBytes: u64(b, off + 16),
    firstNs: u64(b, off + 24),
    lastNs: u64(b, off + 32),
    tcpFlags: u64(b, off + 40),
  };
}

export function encodeKey(k: FlowKey): Buffer {
  const b = Buffer.alloc(FLOW_KEY_SIZE);
  parseAddress(k.src).copy(b, 0);
  parseAddress(k.dst).copy(b, 16);
  b.writeUInt16LE(k.srcPort, 32);
  b.writeUInt16LE(k.dstPort, 34);
  b.writeUInt32LE(k.ifindex, 36);
  b.writeUInt32LE(k.netnsInode, 40);
  b.writeUInt8(k.proto, 44);
  b.writeUInt8(k.direction === 'egress' ? DIRECTION_EGRESS : DIRECTION_INGRESS, 45);
  return b;
}

/** Keys and values back to back, as a batch read returns them. */
export function decodeBatch(keys: Buffer, values: Buffer, count: number): FlowSample[] {
  const out: FlowSample[] = new Array(count);
  for (let i = 0; i < count; i += 1) {
    out[i] = { key: decodeKey(keys, i * FLOW_KEY_SIZE), figures: decodeFigures(values, i * FLOW_VALUE_SIZE) };
  }
  return out;
}

/** A ring buffer record: a packet that found the flow map full. */
export function decodeEvent(b: Buffer): FlowSample {
  if (b.length < FLOW_EVENT_SIZE) throw new Error(`flow overflow record is ${b.length} bytes, expected ${FLOW_EVENT_SIZE}`);
  return { key: decodeKey(b, 0), figures: decodeFigures(b, FLOW_KEY_SIZE) };
}

/** One slot of a per-CPU array as the kernel returns it (a u64 per possible CPU), summed. */
export function sumPerCpu(value: Buffer): number {
  let n = 0;
  for (let off = 0; off + 8 <= value.length; off += 8) n += u64(value, off);
  return n;
}

export const PROTOCOL_NAMES: Record<number, 'tcp' | 'udp' | 'icmp' | 'icmpv6'> = { 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' };
