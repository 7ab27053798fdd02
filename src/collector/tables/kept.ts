// The records that pass a test, as filter() would give them, but the same array when every one
// passes (the usual case: no subscription filter, none of the collector's own connections). At
// 100,000 records a copy is an 800 KB array, past V8's large-object size: each one went straight
// to the old generation and stayed there until a full collection, several a second.

/** `records` itself when `keep` holds for all of them, else a new array of those it holds for. */
export function kept<R>(records: R[], keep: (r: R) => boolean): R[] {
  let i = 0;
  while (i < records.length && keep(records[i]!)) i++;
  if (i === records.length) return records;
  const out = records.slice(0, i);
  for (i++; i < records.length; i++) if (keep(records[i]!)) out.push(records[i]!);
  return out;
}
