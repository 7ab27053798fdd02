// Byte layouts of bpf/flows.h, read from the Buffers the addon returns. The integration test
// checks these sizes against the map definitions the kernel loaded.
import { AF_INET6, addressFromBytes } from '../tables/address.js';
import { parseAddress } from '../tables/flows-address.js';
import { u64 } from './struct-layout.js';

export const FLOW_KEY_SIZE = 48;
export const FLOW_VALUE_SIZE = 48;
export const FLOW_EVENT_SIZE = FLOW_KEY_SIZE + FLOW_VALUE_SIZE;
/** struct flow_slot: one slot of the kernel's open-addressing flow tables. */
export const FLOW_SLOT_SIZE = 144;

const DIRECTION_INGRESS = 0;
const DIRECTION_EGRESS = 1;

/** Indexes of the per-CPU flow_counters array (enum flow_counter). */
export const FLOW_COUNTERS = ['unparsed', 'overflow', 'ringLost', 'nonIp', 'sampledOut', 'filtered', 'raced'] as const;
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
  /** CLOCK_MONOTONIC nanoseconds at tick resolution (bpf_ktime_get_coarse_ns). */
  firstNs: number;
  lastNs: number;
  tcpFlags: number;
}

/** One flow's figures since the last drain: key and figures in one flat object (a drain makes many). */
export interface FlowSample extends FlowKey, FlowFigures {}

// A drain holds many flows between few addresses: format each address once.
const v4Names = new Map<number, string>();
const CACHE_LIMIT = 65536;
/** IPv6 names keyed by the address's four little-endian words, nested: no key string to build. */
type V6Level = Map<number, V6Level | string>;
const v6Names: V6Level = new Map();
let v6Count = 0;

function v6Name(k: Uint32Array, w: number, b: Buffer, off: number): string {
  let level = v6Names;
  for (let i = 0; i < 3; i += 1) {
    let next = level.get(k[w + i]!) as V6Level | undefined;
    if (next === undefined) {
      next = new Map();
      level.set(k[w + i]!, next);
    }
    level = next;
  }
  let s = level.get(k[w + 3]!) as string | undefined;
  if (s === undefined) {
    if (v6Count >= CACHE_LIMIT) {
      v6Names.clear();
      v6Count = 0;
    }
    s = addressFromBytes(AF_INET6, b.subarray(off, off + 16));
    level.set(k[w + 3]!, s);
    v6Count += 1;
  }
  return s;
}

function address(b: Buffer, off: number): string {
  if (b.readUInt32LE(off) === 0 && b.readUInt32LE(off + 4) === 0 && b.readUInt32BE(off + 8) === 0xffff) {
    return v4Name(b.readUInt32LE(off + 12));
  }
  return addressFromBytes(AF_INET6, b.subarray(off, off + 16));
}

export function decodeKey(b: Buffer, off = 0): FlowKey {
  return {
    src: address(b, off),
    dst: address(b, off + 16),
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

/** 32-bit words over a buffer (copied first when it is not 4-byte aligned). */
function words(b: Buffer): Uint32Array {
  const src = b.byteOffset % 4 === 0 ? b : Buffer.from(b);
  return new Uint32Array(src.buffer, src.byteOffset, Math.floor(src.length / 4));
}

const HI = 0x1_0000_0000;
const KEY_WORDS = FLOW_KEY_SIZE / 4;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Bytes 8-11 of an IPv4-mapped address (00 00 ff ff) read as a little-endian word. */
const V4_MAPPED_WORD = 0xffff0000;

/** An IPv4 address read as a little-endian word (first octet lowest). */
function v4Name(le: number): string {
  let s = v4Names.get(le);
  if (s === undefined) {
    s = `${le & 255}.${(le >>> 8) & 255}.${(le >>> 16) & 255}.${le >>> 24}`;
    if (v4Names.size >= CACHE_LIMIT) v4Names.clear();
    v4Names.set(le, s);
  }
  return s;
}

const EVENT_WORDS = FLOW_EVENT_SIZE / 4;

/**
 * Flow records (struct flow_event: key then value) back to back, as flows_drain leaves them in
 * flow_drain_out, appended to out. Read as 32-bit words: a drain is up to the table's capacity in records, and
 * Buffer's per-field reads cost several times more.
 */
export function decodeBatch(records: Buffer, count: number, out: FlowSample[] = []): FlowSample[] {
  if (records.length < count * FLOW_EVENT_SIZE) throw new Error(`flows: ${count} records need ${count * FLOW_EVENT_SIZE} bytes, got ${records.length}`);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < count; i += 1) out.push(decodeEvent(records.subarray(i * FLOW_EVENT_SIZE)));
    return out;
  }
  const k = words(records.subarray(0, count * FLOW_EVENT_SIZE));
  for (let i = 0; i < count; i += 1) {
    const w = i * EVENT_WORDS;
    const x = w + KEY_WORDS;
    const ports = k[w + 8]!;
    const protoDir = k[w + 11]!;
    out.push({
      src: k[w] === 0 && k[w + 1] === 0 && k[w + 2] === V4_MAPPED_WORD ? v4Name(k[w + 3]!) : v6Name(k, w, records, i * FLOW_EVENT_SIZE),
      dst: k[w + 4] === 0 && k[w + 5] === 0 && k[w + 6] === V4_MAPPED_WORD ? v4Name(k[w + 7]!) : v6Name(k, w + 4, records, i * FLOW_EVENT_SIZE + 16),
      srcPort: ports & 0xffff,
      dstPort: ports >>> 16,
      ifindex: k[w + 9]!,
      netnsInode: k[w + 10]!,
      proto: protoDir & 0xff,
      direction: ((protoDir >>> 8) & 0xff) === DIRECTION_EGRESS ? 'egress' : 'ingress',
      packets: k[x]! + k[x + 1]! * HI,
      bytes: k[x + 2]! + k[x + 3]! * HI,
      payloadBytes: k[x + 4]! + k[x + 5]! * HI,
      firstNs: k[x + 6]! + k[x + 7]! * HI,
      lastNs: k[x + 8]! + k[x + 9]! * HI,
      tcpFlags: k[x + 10]!,
    });
  }
  return out;
}

/** A ring buffer record: a packet that found the flow map full. */
export function decodeEvent(b: Buffer): FlowSample {
  if (b.length < FLOW_EVENT_SIZE) throw new Error(`flow overflow record is ${b.length} bytes, expected ${FLOW_EVENT_SIZE}`);
  return { ...decodeKey(b, 0), ...decodeFigures(b, FLOW_KEY_SIZE) };
}

/** Adds b's figures to a's (two samples of one flow). */
export function addFigures(a: FlowFigures, b: FlowFigures): void {
  a.packets += b.packets;
  a.bytes += b.bytes;
  a.payloadBytes += b.payloadBytes;
  a.firstNs = Math.min(a.firstNs, b.firstNs);
  a.lastNs = Math.max(a.lastNs, b.lastNs);
  a.tcpFlags |= b.tcpFlags;
}

/** One slot of a per-CPU array as the kernel returns it (a u64 per possible CPU), summed. */
export function sumPerCpu(value: Buffer): number {
  let n = 0;
  for (let off = 0; off + 8 <= value.length; off += 8) n += u64(value, off);
  return n;
}
