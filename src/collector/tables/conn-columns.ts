// Where each number of an open connection (a socket view the link table keeps) sits in its row of
// SlotColumns: a connection object with its boxed counts cost 128 bytes and more, a row 52.
import { SlotColumns } from './slot-columns.js';

/** Doubles of a connection's row: its payload counts in link orientation, as last read. */
export const CONN = {
  sent: 0,
  received: 1,
  retransmits: 2,
  /** When a read of the kernel's map first missed it; NaN while it is there. */
  missingSinceMs: 3,
} as const;

/** 32-bit numbers of a connection's row. Slots are stored plus one: 0 is none. */
export const CONN_U32 = {
  /** Its link's slot + 1. */
  link: 0,
  /** The poll that last saw it in the kernel's map. */
  seen: 1,
  /** Its neighbours in its link's list of open connections, slot + 1. */
  prev: 2,
  next: 3,
  flags: 4,
} as const;

/** Bits of CONN_U32.flags. */
export const CONN_FLAG = {
  /** Its bytes count (the client view, or a server view with no client view on this host). */
  counting: 1,
  established: 2,
  /** From the socket table at start, not yet seen by the tracer. */
  pseudo: 4,
  /** A client view: the kernel adds its close into its link's fold, not a close record. */
  folded: 8,
} as const;

const FRESH = new Float64Array(Object.keys(CONN).length);
FRESH[CONN.missingSinceMs] = NaN;

/** The connections' rows with their widths and a new connection's values. */
export class ConnColumns extends SlotColumns {
  constructor() {
    super(FRESH.length, Object.keys(CONN_U32).length, FRESH);
  }
}
