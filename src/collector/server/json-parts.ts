// JSON lists as UTF-8 in parts of about PART_BYTES, which a socket sends as the fragments of one
// message. Small parts keep every string in V8's reused memory and every Buffer in the pool's: one
// 5 MiB text of 10,000 records cost about 20 ms in page faults to flatten and as much again to
// encode, against about 1 ms to copy (measured).
import { wireText } from '../../protocol/wire-text.js';
import type { PartPool } from './part-pool.js';

export const PART_BYTES = 32 * 1024;

/** Items that can be read more than once, in the same order: an array, or a Map's values. */
export interface Items {
  forEach(f: (json: string) => void): void;
}

/** `prefix` + the items joined by commas + `suffix`, as UTF-8 parts that concatenate to it. */
export function jsonParts(prefix: string, items: Items, suffix: string, pool: PartPool): Buffer[] {
  const parts: Buffer[] = [];
  let batch: string[] = [];
  let size = Buffer.byteLength(prefix);
  let head = prefix;
  items.forEach((json) => {
    const bytes = Buffer.byteLength(json);
    if (batch.length > 0 && size + 1 + bytes > PART_BYTES) {
      parts.push(encode(head, batch, pool.take(size), ''));
      batch = [];
      head = ',';
      size = 1;
    }
    size += bytes + (batch.length > 0 ? 1 : 0);
    batch.push(json);
  });
  parts.push(encode(head, batch, pool.take(size + Buffer.byteLength(suffix)), suffix));
  return parts;
}

/**
 * `prefix` + records + `suffix` as parts, serialised a run of records at a time: one
 * JSON.stringify per part is faster than one per record, and than one for them all. Returns the
 * parts, and those of them that hold the records, for runTexts. Only Buffers are kept: a run's
 * string kept for later would be copied by every young-generation collection it survives.
 */
export function jsonRuns(prefix: string, records: readonly unknown[], suffix: string, pool: PartPool): { parts: Buffer[]; runs: Buffer[] } {
  const runs: Buffer[] = [];
  let count = 32;
  let i = 0;
  while (i < records.length) {
    const text = JSON.stringify(records.slice(i, i + count));
    const run = pool.take(Buffer.byteLength(text));
    run.write(text);
    i += count;
    // The run's own brackets become the list's: '[' opens it or is the comma after the last run;
    // ']' closes it or is cut off.
    if (runs.length > 0) run[0] = 0x2c; // ','
    runs.push(i < records.length ? run.subarray(0, -1) : run);
    // Sized by the last run, so runs of larger records (aggregates) stay small too.
    count = Math.max(1, Math.floor((count * PART_BYTES) / run.length));
  }
  return { parts: [Buffer.from(prefix), ...runs, Buffer.from(runs.length === 0 ? `[]${suffix}` : suffix)], runs };
}

/** The records of jsonRuns' runs, comma-joined, without the brackets or commas around each run. */
export function runTexts(runs: readonly Buffer[]): string[] {
  return runs.map((run, i) => wireText(run.subarray(1, i === runs.length - 1 ? -1 : run.length)));
}

/** `head`, the texts joined by commas, `tail`, written into `out`, which is just long enough. */
function encode(head: string, texts: string[], out: Buffer, tail: string): Buffer {
  let at = out.write(head);
  texts.forEach((t, i) => {
    if (i > 0) out[at++] = 0x2c; // ','
    at += out.write(t, at);
  });
  out.write(tail, at);
  return out;
}
