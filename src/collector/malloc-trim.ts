// The tables' process frees malloc'd memory in bursts (IPC write buffers of a round's deltas,
// socket reads, map reads) and glibc keeps what is freed between live chunks in its arenas: with
// 100,000 links changing every second, up to 13 MB of the parent's 26 MB arena was free at a
// time. Giving those pages back every second costs a walk of the arenas' free lists.
import { native } from './kernel/native.js';

export const TRIM_EVERY_MS = 1000;

/** Trims malloc's free memory every `everyMs` until the returned function is called. */
export function trimMallocEvery(everyMs = TRIM_EVERY_MS): () => void {
  const addon = native();
  const timer = setInterval(() => addon.mallocTrim(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
