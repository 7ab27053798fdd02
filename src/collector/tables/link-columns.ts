// The numbers of every link, a row of doubles each in one Float64Array, rather than fields and an
// array of rate samples per link: at 100,000 links those were 100,000 arrays and 400,000 boxed
// numbers on the heap.
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

export class LinkColumns {
  /** The rows; replaced by a larger copy as links come, so read it through this field each time. */
  a = new Float64Array(ROW * 64);
  private readonly free: number[] = [];
  private used = 0;

  /** A zeroed row for a new link: the offset of its first number in `a`. */
  take(): number {
    let at = this.free.pop();
    if (at === undefined) {
      at = this.used * ROW;
      this.used += 1;
      if (at + ROW > this.a.length) {
        // Half again, not twice: at 100,000 links doubling left up to 10 MB of rows unused.
        const grown = new Float64Array(Math.ceil((this.a.length * 1.5) / ROW) * ROW);
        grown.set(this.a);
        this.a = grown;
      }
    }
    this.a.fill(0, at, at + ROW);
    return at;
  }

  /** The row of a link that left; the next new link takes it. */
  give(at: number): void {
    this.free.push(at);
  }
}
