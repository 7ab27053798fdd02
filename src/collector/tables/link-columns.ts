// The numbers of every link, a row each in blocks of 1,024 links (one Float64Array and one
// Uint32Array per block), rather than fields of objects: at 100,000 links a link object, its two
// side objects, its array of open connections and their boxed numbers (a namespace inode is above
// 2^31, never a small integer) held about 300 bytes a link on the heap. Blocks, not one array grown
// by copying: no copy held twice while growing, and at most one block's rows unused.
import { RATE_WIDTH } from './links-rates.js';

/** Where each double sits in a link's row. */
export const COL = {
  closedSent: 0,
  closedReceived: 1,
  closedRetransmits: 2,
  firstSeen: 3,
  lastSeen: 4,
  /** When the resolver last named the link's endpoints. */
  namedAtMs: 5,
  /** Connections closed and failed: counts that may pass 2^32 on a busy link. */
  closed: 6,
  failed: 7,
  /** The latest smoothed RTT; NaN until one is known. */
  rttUs: 8,
  /** Each side's cgroup id (64 bits), 0 when unknown. */
  clientCgroup: 9,
  serverCgroup: 10,
  /** The rate samples (links-rates.ts), RATE_WIDTH doubles. */
  rates: 11,
} as const;

/** Where each 32-bit number sits in a link's row; 0 is unknown. */
export const U32 = {
  port: 0,
  /** Open connections in the link's list. */
  live: 1,
  flags: 2,
  clientNetns: 3,
  clientPid: 4,
  serverNetns: 5,
  serverPid: 6,
} as const;

/** Bits of U32.flags. */
export const FLAG = {
  /** In the list of links the next commit looks at. */
  dirty: 1,
  /** A side's facts (process, namespace) changed since the record was built. */
  sidesChanged: 2,
} as const;

const ROW = COL.rates + RATE_WIDTH;
const ROW_U32 = 7;
const BLOCK_ROWS = 1024;

/** Where the row of `slot` starts in its Float64Array block. */
export function rowAt(slot: number): number {
  return (slot % BLOCK_ROWS) * ROW;
}

export class LinkColumns {
  private readonly blocks: Float64Array[] = [];
  private readonly blocksU32: Uint32Array[] = [];
  private readonly free: number[] = [];
  private used = 0;

  /** A zeroed row for a new link (no RTT yet): its slot. */
  take(): number {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.blocks.length * BLOCK_ROWS) {
      this.blocks.push(new Float64Array(BLOCK_ROWS * ROW));
      this.blocksU32.push(new Uint32Array(BLOCK_ROWS * ROW_U32));
    }
    this.block(slot).fill(0, rowAt(slot), rowAt(slot) + ROW);
    this.set(slot, COL.rttUs, NaN);
    const at = (slot % BLOCK_ROWS) * ROW_U32;
    this.blocksU32[Math.floor(slot / BLOCK_ROWS)]!.fill(0, at, at + ROW_U32);
    return slot;
  }

  /** The Float64Array block holding the row of `slot`. */
  block(slot: number): Float64Array {
    return this.blocks[Math.floor(slot / BLOCK_ROWS)]!;
  }

  get(slot: number, col: number): number {
    return this.block(slot)[rowAt(slot) + col]!;
  }

  set(slot: number, col: number, v: number): void {
    this.block(slot)[rowAt(slot) + col] = v;
  }

  add(slot: number, col: number, v: number): void {
    this.block(slot)[rowAt(slot) + col] += v;
  }

  u32(slot: number, col: number): number {
    return this.blocksU32[Math.floor(slot / BLOCK_ROWS)]![(slot % BLOCK_ROWS) * ROW_U32 + col]!;
  }

  setU32(slot: number, col: number, v: number): void {
    this.blocksU32[Math.floor(slot / BLOCK_ROWS)]![(slot % BLOCK_ROWS) * ROW_U32 + col] = v;
  }

  /** The row of a link that left; the next new link takes it. */
  give(slot: number): void {
    this.free.push(slot);
  }
}
