// A link's connection counts as the record carries them. Most links have the same few (one open,
// none closed, none failed), and a record's nested objects are never changed, only replaced: small
// counts come from a table of shared objects rather than one object per link (48 bytes each).
import type { LinkRecord } from '../../protocol/index.js';

type Counts = LinkRecord['connections'];

/** Counts below this each are shared. */
const SMALL = 16;
const shared: (Counts | undefined)[] = new Array<Counts | undefined>(SMALL ** 3);

export function connectionCounts(active: number, closed: number, failed: number): Counts {
  if (!(active < SMALL && closed < SMALL && failed < SMALL)) return { active, closed, failed };
  const i = (active * SMALL + closed) * SMALL + failed;
  return (shared[i] ??= Object.freeze({ active, closed, failed }) as Counts);
}
