// UTF-8 bytes off the wire as a string, in Node (the collector and the `weft` client; a browser
// hands the plugin strings). What the collector sends is nearly always ASCII, which is the same
// text read as Latin-1: one copy, where UTF-8 decoding took about 20 ms for a 5 MiB snapshot
// (measured). isAscii is one vectorised scan. Not exported from index.ts, which the plugin imports.
import { isAscii } from 'node:buffer';

export function wireText(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}
