// The numbers of every link, a row of doubles each in blocks of one Float64Array per 1,024 links,
// rather than fields and an array of rate samples per link: at 100,000 links those were 100,000
// arrays and 400,000 boxed numbers on the heap. Blocks, not one array grown by copying: no copy
// held twice while growing, and at most one block's rows unused.
import { RATE_WIDTH } from './links-rates.js';

/** Where each number sits in a link's row. */
export const COL = {
  closedSent: 0,
  closedReceived: 1,
  closedRetransmits: 2,
  firstSeen: 3,
  lastSeen: 4,
  /** When the resolver last named the link's endpoints. */
  namedAtMs: 5,
  /** The rate samples (links-rates.ts), RATE_WIDTH doubles. */
  rates: 6,
} as const;

const ROW = COL.rates + RATE_WIDTH;
const BLOCK_ROWS = 1024;

/** Where the row of `slot` starts in its block. */
export function rowAt(slot: number): number {
  return (slot % BLOCK_ROWS) * ROW;
}

export class LinkColumns {
  private readonly blocks: Float64Array[] = [];
  private readonly free: number[] = [];
  private used = 0;

  /** A zeroed row for a new link: its slot. */
  take(): number {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.blocks.length * BLOCK_ROWS) this.blocks.push(new Float64Array(BLOCK_ROWS * ROW));
    this.block(slot).fill(0, rowAt(slot), rowAt(slot) + ROW);
    return slot;
  }

  /** The block holding the row of `slot`. */
  block(slot: number): Float64Array {
    return this.blocks[Math.floor(slot / BLOCK_ROWS)]!;
  }

  /** The row of a link that left; the next new link takes it. */
  give(slot: number): void {
    this.free.push(slot);
  }
}
