// Numbers of many like things (links, connections), a row each in blocks of 1,024 rows (one
// Float64Array and one Uint32Array per block), rather than fields of objects: Node 20's V8 does
// not compress pointers, so an object's field costs 8 bytes and a double in it 16 more in a box.
// Blocks, not one array grown by copying: no copy held twice while growing, and at most one
// block's rows unused. A slot given back is taken again first.

const BLOCK_ROWS = 1024;

export class SlotColumns {
  private readonly blocks: Float64Array[] = [];
  private readonly blocksU32: Uint32Array[] = [];
  private readonly free: number[] = [];
  private used = 0;

  /** `doubles` and `u32s` numbers a row; `fresh` is written into the doubles of a row taken (zeros by default). */
  constructor(
    private readonly doubles: number,
    private readonly u32s: number,
    private readonly fresh?: Float64Array,
  ) {}

  /** A row set to its fresh values: its slot. */
  take(): number {
    const slot = this.free.pop() ?? this.used++;
    if (slot >= this.blocks.length * BLOCK_ROWS) {
      this.blocks.push(new Float64Array(BLOCK_ROWS * this.doubles));
      this.blocksU32.push(new Uint32Array(BLOCK_ROWS * this.u32s));
    }
    const at = this.at(slot);
    if (this.fresh) this.block(slot).set(this.fresh, at);
    else this.block(slot).fill(0, at, at + this.doubles);
    const atU32 = (slot % BLOCK_ROWS) * this.u32s;
    this.blocksU32[Math.floor(slot / BLOCK_ROWS)]!.fill(0, atU32, atU32 + this.u32s);
    return slot;
  }

  /** The row of a thing that is gone; the next one taken gets it. */
  give(slot: number): void {
    this.free.push(slot);
  }

  /** The Float64Array block holding the row of `slot`. */
  block(slot: number): Float64Array {
    return this.blocks[Math.floor(slot / BLOCK_ROWS)]!;
  }

  /** Where the row of `slot` starts in its Float64Array block. */
  at(slot: number): number {
    return (slot % BLOCK_ROWS) * this.doubles;
  }

  get(slot: number, col: number): number {
    return this.block(slot)[this.at(slot) + col]!;
  }

  set(slot: number, col: number, v: number): void {
    this.block(slot)[this.at(slot) + col] = v;
  }

  add(slot: number, col: number, v: number): void {
    this.block(slot)[this.at(slot) + col] += v;
  }

  u32(slot: number, col: number): number {
    return this.blocksU32[Math.floor(slot / BLOCK_ROWS)]![(slot % BLOCK_ROWS) * this.u32s + col]!;
  }

  setU32(slot: number, col: number, v: number): void {
    this.blocksU32[Math.floor(slot / BLOCK_ROWS)]![(slot % BLOCK_ROWS) * this.u32s + col] = v;
  }
}
