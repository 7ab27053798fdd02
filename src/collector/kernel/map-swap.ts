// Two hash maps behind a one-slot array of maps (bpf/flows.bpf.c, bpf/links.bpf.c): programs add to
// the map in the slot. The kernel returns from pointing the slot at the other map only after an RCU
// grace period, so the map it left has no writer any more and can be read and emptied exactly.
import type { BpfMap } from './types.js';

export class MapSwap {
  private active = 0;

  constructor(
    private readonly slot: BpfMap,
    readonly maps: readonly [BpfMap, BpfMap],
  ) {}

  /** The map programs write to once the slot points at it. */
  get current(): BpfMap {
    return this.maps[this.active]!;
  }

  /** Points the slot at the current map. */
  point(): void {
    const fd = Buffer.alloc(4);
    fd.writeUInt32LE(this.current.fd);
    this.slot.update(Buffer.alloc(4), fd);
  }

  /** Moves the writers to the other map and returns the one they left, quiet from now on. */
  swap(): BpfMap {
    const old = this.current;
    this.active = 1 - this.active;
    this.point();
    return old;
  }
}
