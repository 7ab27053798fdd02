// Where each number of a link sits in its row of the table's columns (SlotColumns): at 100,000
// links a link object, its two side objects, its array of open connections and their boxed numbers
// (a namespace inode is above 2^31, never a small integer) held about 300 bytes a link on the heap.
import { RATE_WIDTH } from './links-rates.js';
import { SlotColumns } from './slot-columns.js';

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
  /**
   * Figures as the link's record carries them, as of the last commit: totals over its open
   * connections and whole rates. A record is built from the row when read, not kept.
   */
  bytesSent: 11,
  bytesReceived: 12,
  sendRate: 13,
  receiveRate: 14,
  retransmits: 15,
  /** The rate samples (links-rates.ts), RATE_WIDTH doubles. */
  rates: 16,
} as const;

/** Where each 32-bit number sits in a link's row; 0 is unknown. */
export const U32 = {
  port: 0,
  flags: 1,
  clientNetns: 2,
  clientPid: 3,
  serverNetns: 4,
  serverPid: 5,
  /**
   * The first of its open connections (a list through their rows, ConnColumns): slot + 1, 0 for
   * none, so also whether it has any.
   */
  firstConn: 6,
  /** Open connections as of the last commit (the record's connections.active). */
  active: 7,
} as const;

/** Bits of U32.flags. */
export const FLAG = {
  /** In the list of links the next commit looks at. */
  dirty: 1,
  /** A side's facts (process, namespace) changed since its endpoint was named. */
  sidesChanged: 2,
  /** A figure the record reads straight from the row (counts, RTT, times) moved since the last commit. */
  figuresMoved: 4,
} as const;

const ROW = COL.rates + RATE_WIDTH;
/** A new link's row: all zeros but its RTT, unknown. */
const FRESH = new Float64Array(ROW);
FRESH[COL.rttUs] = NaN;

/** The links' rows (SlotColumns) with their widths and a new link's values. */
export class LinkColumns extends SlotColumns {
  constructor() {
    super(ROW, Object.keys(U32).length, FRESH);
  }
}
