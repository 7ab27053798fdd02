// Equality of records' values as they travel: the collector compares a record with the one it last
// sent or built, the server process a value with the one it already holds.

/** Equality of two JSON values (records hold nothing else; a field set to undefined is absent). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Every field of x is in y with an equal value, and y has no more fields than x.
  let n = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    if (!sameJson(x[k], y[k])) return false;
    n += 1;
  }
  for (const k in y) if (y[k] !== undefined) n -= 1;
  return n === 0;
}
