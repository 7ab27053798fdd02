// Memory for the parts of outgoing messages, kept from one message to the next. The first write
// to a fresh page costs a page fault: 1,300 of them for a 5.4 MiB snapshot, about 20 ms in this
// VM (measured), and the collector trims malloc's free memory every second, so without a pool
// every snapshot would pay them again. A part goes back only once every socket has written it.

export class PartPool {
  private readonly idle: ArrayBuffer[] = [];
  private readonly mine = new WeakSet<ArrayBuffer>();
  private readonly pooled = new WeakSet<ArrayBuffer>();

  constructor(
    /** The size of a pooled part; a longer one gets memory of its own. */
    readonly partBytes: number,
    /** The most idle memory kept. */
    readonly maxBytes: number,
  ) {}

  /** A Buffer of `bytes` bytes: pooled memory when it fits in a part. */
  take(bytes: number): Buffer {
    if (bytes > this.partBytes) return Buffer.allocUnsafeSlow(bytes);
    let memory = this.idle.pop();
    if (memory) this.pooled.delete(memory);
    else {
      memory = new ArrayBuffer(this.partBytes);
      this.mine.add(memory);
    }
    return Buffer.from(memory, 0, bytes);
  }

  /** Buffers that nothing will read again. The pool keeps those it handed out, each once. */
  give(buffers: Iterable<Buffer>): void {
    for (const b of buffers) {
      const memory = b.buffer as ArrayBuffer;
      if (!this.mine.has(memory) || this.pooled.has(memory) || this.idleBytes() + this.partBytes > this.maxBytes) continue;
      this.pooled.add(memory);
      this.idle.push(memory);
    }
  }

  idleBytes(): number {
    return this.idle.length * this.partBytes;
  }

  /** A message's parts from take(), held by whoever built them until they release it. */
  held(parts: readonly Buffer[]): HeldParts {
    return new HeldParts(parts, this);
  }
}

/** A message's parts, shared by every socket it goes to, given back when the last lets go. */
export class HeldParts {
  private holders = 1;
  private creatorHolds = true;
  /** The parts' length together. */
  readonly bytes: number;

  constructor(
    readonly parts: readonly Buffer[],
    private readonly pool: PartPool,
  ) {
    this.bytes = parts.reduce((n, p) => n + p.length, 0);
  }

  /** One more holder, such as a socket writing the parts; what it gets lets go, once. */
  hold(): () => void {
    this.holders += 1;
    let holds = true;
    return () => {
      if (!holds) return;
      holds = false;
      this.letGo();
    };
  }

  /** The creator lets go. */
  release(): void {
    if (!this.creatorHolds) return;
    this.creatorHolds = false;
    this.letGo();
  }

  private letGo(): void {
    if (--this.holders === 0) this.pool.give(this.parts);
  }
}
