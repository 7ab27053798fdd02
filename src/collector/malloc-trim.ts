// A collector process frees malloc'd memory in bursts (IPC buffers of a round's deltas, socket
// reads, the history's arrays) and glibc keeps what is freed between live chunks in its arenas:
// with 100,000 links changing every second, up to 13 MB of the parent's 26 MB arena was free at a
// time. Giving those pages back every second costs a walk of the arenas' free lists. The addon
// (weft_memory.node) has nothing else in it, so the unprivileged server process loads it too.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const TRIM_EVERY_MS = 1000;

interface MemoryAddon {
  mallocTrim(): boolean;
}

export const memoryAddonPath = fileURLToPath(new URL('../../build/Release/weft_memory.node', import.meta.url));

/**
 * Trims malloc's free memory every `everyMs` until the returned function is called. Without the
 * addon the process runs as it would without trimming, and `log` is told why.
 */
export function trimMallocEvery(log: (line: string) => void, everyMs = TRIM_EVERY_MS, path = memoryAddonPath): () => void {
  let addon: MemoryAddon;
  try {
    addon = createRequire(import.meta.url)(path) as MemoryAddon;
  } catch (e) {
    log(`memory is not trimmed (${(e as Error).message.split('\n')[0]}); run "npm run build"`);
    return () => undefined;
  }
  const timer = setInterval(() => addon.mallocTrim(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
