// Decodes the records of lib/bpf/links.bpf.o (layouts in bpf/links.h) into plain objects.
import { flat } from '../tables/flat.js';
import { AF_INET, addressFromBytes } from '../tables/address.js';
import { u64 } from './struct-layout.js';

export const CONN_SIZE = 176;
export const CLOSE_SIZE = 200;
/** The map key of link_folds: a hash of the struct link_fold_key each value starts with. */
export const FOLD_KEY_SIZE = 8;
export const FOLD_SIZE = 168;
export const SERVER_SLOT_SIZE = 64;

export const ROLE_UNKNOWN = 0;
export const ROLE_CLIENT = 1;
export const ROLE_SERVER = 2;

export const F_ESTABLISHED = 0x01;
export const F_FIN_IN = 0x02;
export const F_PEER_LOCAL = 0x04;
export const F_HAS_BASE = 0x08;
export const F_HAS_PID = 0x10;

/** Indices of the link_counters array. */
export const COUNTERS = ['ringLost', 'connMapFull', 'tupleMapFull', 'foldMapFull'] as const;
export type CounterName = (typeof COUNTERS)[number];

export type Role = 'unknown' | 'client' | 'server';

/** One socket's view of one connection. */
export interface ConnView {
  /** Socket pointer and start time: unique for the life of the connection. */
  key: string;
  startNs: bigint;
  lastNs: bigint;
  bytesSent: number;
  bytesReceived: number;
  cgroupId: number;
  baseSnd: number;
  baseRcv: number;
  pid: number;
  comm: string;
  netns: number;
  retransmits: number;
  srttUs: number;
  family: number;
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  role: Role;
  established: boolean;
  finIn: boolean;
  peerLocal: boolean;
  hasBase: boolean;
  hasPid: boolean;
  /** The other view of this connection when both ends are on this host (its `key`; '' when
   * not known): a peer-local server view names its client view, a client view its server view. */
  peerKey: string;
  /** Client view: its server socket's process on this host, once it is known (0/'' when remote,
   * or while the server view is open: that view's own pid and comm are the server's process). */
  peerPid: number;
  peerComm: string;
  peerNetns: number;
  peerRetransmits: number;
}

export interface CloseRecord {
  view: ConnView;
  endNs: bigint;
  endSnd: number;
  endRcv: number;
  skErr: number;
  oldState: number;
  /** SOCK_DONE was set: the peer's FIN arrived. */
  sockDone: boolean;
}

/** The server socket of an open local pair that has a slot of link_servers instead of an entry of
 * its own (struct link_server): its client's entry counts the connection. */
export interface ServerSlot {
  /** The client view's `key`. */
  clientKey: string;
  /** The server's process, once it has sent or received (0/'' before). */
  pid: number;
  comm: string;
}

/** Closed client connections of one link and client process, added up in the kernel (struct link_fold). */
export interface FoldRecord {
  family: number;
  clientIp: string;
  serverIp: string;
  serverPort: number;
  /** The client's network namespace (inode) and process. */
  netns: number;
  pid: number;
  comm: string;
  cgroupId: number;
  /** Final counts, client → server and back. */
  bytesSent: number;
  bytesReceived: number;
  closed: number;
  failed: number;
  retransmits: number;
  corrections: number;
  firstNs: bigint;
  lastNs: bigint;
  srttUs: number;
  /** The server socket's process and namespace when it is on this host (0/'' otherwise). */
  peerPid: number;
  peerNetns: number;
  peerComm: string;
}

const ROLES: Role[] = ['unknown', 'client', 'server'];

export function decodeConn(buf: Buffer, at = 0): ConnView {
  if (buf.length < at + CONN_SIZE) throw new Error(`link_conn record needs ${CONN_SIZE} bytes, got ${buf.length - at}`);
  const family = buf.readUInt16LE(at + 76);
  const role = buf.readUInt8(at + 78);
  const flags = buf.readUInt8(at + 79);
  const startNs = buf.readBigUInt64LE(at + 8);

  return {
    key: socketKey(buf, at, startNs),
    startNs,
    lastNs: buf.readBigUInt64LE(at + 80),
    bytesSent: u64(buf, at + 16),
    bytesReceived: u64(buf, at + 24),
    cgroupId: u64(buf, at + 88),
    baseSnd: buf.readUInt32LE(at + 96),
    baseRcv: buf.readUInt32LE(at + 100),
    pid: buf.readUInt32LE(at + 32),
    netns: buf.readUInt32LE(at + 104),
    retransmits: buf.readUInt32LE(at + 108),
    srttUs: buf.readUInt32LE(at + 36),
    localPort: buf.readUInt16LE(at + 72),
    remotePort: buf.readUInt16LE(at + 74),
    family,
    role: ROLES[role] ?? 'unknown',
    established: (flags & F_ESTABLISHED) !== 0,
    finIn: (flags & F_FIN_IN) !== 0,
    peerLocal: (flags & F_PEER_LOCAL) !== 0,
    hasBase: (flags & F_HAS_BASE) !== 0,
    hasPid: (flags & F_HAS_PID) !== 0,
    localIp: address(family, buf, at + 112),
    remoteIp: address(family, buf, at + 128),
    comm: cString(buf, at + 40),
    peerKey: buf.readBigUInt64LE(at + 56) === 0n ? '' : socketKey(buf, at + 56, buf.readBigUInt64LE(at + 64)),
    peerPid: buf.readUInt32LE(at + 144),
    peerNetns: buf.readUInt32LE(at + 148),
    peerRetransmits: buf.readUInt32LE(at + 152),
    peerComm: cString(buf, at + 160),
  };
}

/** A view's identity: its socket pointer (the u64 at `at`, in hex) and start time. */
function socketKey(buf: Buffer, at: number, startNs: bigint): string {
  return flat(buf.readUInt32LE(at + 4).toString(16), buf.readUInt32LE(at).toString(16).padStart(8, '0'), ':', startNs);
}

/** The same few addresses come in record after record: their text is made once (bounded cache). */
const ADDRESS_CACHE_SIZE = 4096;
const v4Text = new Map<number, string>();

function address(family: number, buf: Buffer, at: number): string {
  if (family !== AF_INET) return addressFromBytes(family, buf.subarray(at, at + 16));
  const raw = buf.readUInt32LE(at);
  let text = v4Text.get(raw);
  if (text === undefined) {
    if (v4Text.size >= ADDRESS_CACHE_SIZE) v4Text.clear();
    text = addressFromBytes(family, buf.subarray(at, at + 4));
    v4Text.set(raw, text);
  }
  return text;
}

/** A NUL-terminated char[16] (comm). */
function cString(buf: Buffer, at: number): string {
  if (buf[at] === 0) return '';
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end < 0 || end > at + 16 ? at + 16 : end);
}

export function decodeClose(buf: Buffer): CloseRecord {
  if (buf.length < CLOSE_SIZE) throw new Error(`link_close record needs ${CLOSE_SIZE} bytes, got ${buf.length}`);
  return {
    view: decodeConn(buf, 0),
    endNs: buf.readBigUInt64LE(CONN_SIZE),
    endSnd: buf.readUInt32LE(CONN_SIZE + 8),
    endRcv: buf.readUInt32LE(CONN_SIZE + 12),
    skErr: buf.readInt32LE(CONN_SIZE + 16),
    oldState: buf.readUInt8(CONN_SIZE + 20),
    sockDone: buf.readUInt8(CONN_SIZE + 21) !== 0,
  };
}

/** One CPU's copy of a link_folds value (struct link_fold, its link_fold_key first). */
export function decodeFold(value: Buffer, at = 0): FoldRecord {
  if (value.length < at + FOLD_SIZE) throw new Error(`link_fold entry needs ${FOLD_SIZE} bytes`);
  const family = value.readUInt16LE(at + 40);
  const v = at + 48;
  return {
    family,
    clientIp: address(family, value, at),
    serverIp: address(family, value, at + 16),
    netns: value.readUInt32LE(at + 32),
    pid: value.readUInt32LE(at + 36),
    serverPort: value.readUInt16LE(at + 42),
    bytesSent: u64(value, v),
    bytesReceived: u64(value, v + 8),
    closed: u64(value, v + 16),
    failed: u64(value, v + 24),
    retransmits: u64(value, v + 32),
    corrections: u64(value, v + 40),
    firstNs: value.readBigUInt64LE(v + 48),
    lastNs: value.readBigUInt64LE(v + 56),
    cgroupId: u64(value, v + 64),
    srttUs: value.readUInt32LE(v + 72),
    peerPid: value.readUInt32LE(v + 76),
    peerNetns: value.readUInt32LE(v + 80),
    comm: cString(value, v + 88),
    peerComm: cString(value, v + 104),
  };
}

/**
 * Every entry of a batch read of link_folds (the values: one copy per CPU each). Copies are added up
 * per link: each carries its link, and two links whose keys hash alike may share an entry (each
 * CPU's copy counts one of them); a copy no close touched (all zeros) is left out.
 */
export function decodeFolds(values: Buffer, count: number, cpus = 1): FoldRecord[] {
  if (values.length < count * cpus * FOLD_SIZE) throw new Error(`link_fold entries need ${count * cpus * FOLD_SIZE} bytes, got ${values.length}`);
  const out: FoldRecord[] = [];
  for (let i = 0; i < count; i++) {
    const links = new Map<string, FoldRecord[]>();
    for (let cpu = 0; cpu < cpus; cpu++) {
      const at = (i * cpus + cpu) * FOLD_SIZE;
      if (u64(values, at + 64) + u64(values, at + 72) === 0) continue; // closed + failed
      const copy = decodeFold(values, at);
      const link = values.toString('latin1', at, at + 48);
      const same = links.get(link);
      if (same) same.push(copy);
      else links.set(link, [copy]);
    }
    for (const copies of links.values()) out.push(addCopies(copies));
  }
  return out;
}

/**
 * The per-CPU copies of one link's fold (link_folds are per-CPU maps: a close adds to its CPU's
 * copy without atomics) as one: counts added up, the earliest start, the latest close, and the
 * facts of the latest close that had them (the kernel keeps a fact only when it knows it).
 */
function addCopies(copies: FoldRecord[]): FoldRecord {
  const used = copies.sort((a, b) => (a.lastNs < b.lastNs ? -1 : a.lastNs > b.lastNs ? 1 : 0));
  if (used.length === 1) return used[0]!;
  const out: FoldRecord = { ...used[used.length - 1]!, bytesSent: 0, bytesReceived: 0, closed: 0, failed: 0, retransmits: 0, corrections: 0 };
  for (const c of used) {
    out.bytesSent += c.bytesSent;
    out.bytesReceived += c.bytesReceived;
    out.closed += c.closed;
    out.failed += c.failed;
    out.retransmits += c.retransmits;
    out.corrections += c.corrections;
    if (c.firstNs < out.firstNs) out.firstNs = c.firstNs;
    if (c.srttUs) out.srttUs = c.srttUs;
    if (c.peerPid) {
      out.peerPid = c.peerPid;
      out.peerComm = c.peerComm;
    }
    if (c.peerNetns) out.peerNetns = c.peerNetns;
  }
  return out;
}

/** The claimed slots of a batch read of link_servers (valueSize bytes each). */
export function decodeServerSlots(values: Buffer, count: number, valueSize = SERVER_SLOT_SIZE): ServerSlot[] {
  if (values.length < count * valueSize) throw new Error(`link_server records need ${count * valueSize} bytes, got ${values.length}`);
  const out: ServerSlot[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * valueSize;
    // Free (sk 0), or claimed and its client not written yet.
    if (values.readBigUInt64LE(at) === 0n || values.readBigUInt64LE(at + 8) === 0n) continue;
    const hasPid = (values.readUInt32LE(at + 28) & F_HAS_PID) !== 0;
    out.push({
      clientKey: socketKey(values, at + 8, values.readBigUInt64LE(at + 16)),
      pid: hasPid ? values.readUInt32LE(at + 24) : 0,
      comm: hasPid ? cString(values, at + 32) : '',
    });
  }
  return out;
}

/** The claimed entries of a batch read of link_conn_slots (valueSize bytes each): a slot is taken
 * when its socket (sk) is set, and filled when its start time is (written last). */
export function decodeConnSlots(values: Buffer, count: number, valueSize = CONN_SIZE): ConnView[] {
  if (values.length < count * valueSize) throw new Error(`link_conn slots need ${count * valueSize} bytes, got ${values.length}`);
  const out: ConnView[] = [];
  for (let i = 0; i < count; i++) {
    if (slotFilled(values, i * valueSize)) out.push(decodeConn(values, i * valueSize));
  }
  return out;
}

/** How many slots of a batch read of link_conn_slots hold an entry (as decodeConnSlots() takes them). */
export function countFilledSlots(values: Buffer, count: number, valueSize = CONN_SIZE): number {
  let n = 0;
  for (let i = 0; i < count && (i + 1) * valueSize <= values.length; i++) if (slotFilled(values, i * valueSize)) n += 1;
  return n;
}

/** A socket (sk) and a start time: claimed and filled. */
function slotFilled(values: Buffer, at: number): boolean {
  return values.readBigUInt64LE(at) !== 0n && values.readBigUInt64LE(at + 8) !== 0n;
}

/** Every value of a batch read of link_conns (valueSize bytes each). */
export function decodeConns(values: Buffer, count: number, valueSize = CONN_SIZE): ConnView[] {
  const out: ConnView[] = [];
  for (let i = 0; i < count; i++) out.push(decodeConn(values, i * valueSize));
  return out;
}

/** The link_counters array as read by a batch lookup (u32 keys, u64 values). */
export function decodeCounters(keys: Buffer, values: Buffer, count: number): Record<CounterName, number> {
  const out = Object.fromEntries(COUNTERS.map((n) => [n, 0])) as Record<CounterName, number>;
  for (let i = 0; i < count; i++) {
    const name = COUNTERS[keys.readUInt32LE(i * 4)];
    if (name) out[name] = Number(values.readBigUInt64LE(i * 8));
  }
  return out;
}
