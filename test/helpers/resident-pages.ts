// Resident memory of a group of processes with every physical page counted once: RSS summed over
// processes counts the pages they share (node's own code, mapped by each) once per process, and
// PSS splits them with every other process that maps them too (any node on the machine, the bench
// itself included). Here each resident page's frame number comes from /proc/PID/pagemap (root
// sees frame numbers), and the union of the sets is the group's footprint.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const PAGE = 4096;
/** Frame number: bits 0-54 of a pagemap entry; bit 63 says the page is present. */
const PFN_MASK = (1n << 55n) - 1n;
const PRESENT = 1n << 63n;
/** User-space addresses end below 2^47; [vsyscall] above it has no pagemap entries to read. */
const USER_END = 2 ** 47;

/** Address ranges of the mappings that hold resident pages, from the text of /proc/PID/smaps. */
export function residentRanges(smaps: string): [number, number][] {
  const out: [number, number][] = [];
  let range: [number, number] | undefined;
  for (const line of smaps.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      range = [parseInt(head[1]!, 16), parseInt(head[2]!, 16)];
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && range && Number(rss[1]) > 0 && range[0] < USER_END) out.push(range);
  }
  return out;
}

/** Adds the frame numbers of a process's resident pages to `frames`. A process that ended adds nothing. */
function addFrames(pid: number, frames: Set<number>): void {
  let smaps: string;
  let fd: number;
  try {
    smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
    fd = openSync(`/proc/${pid}/pagemap`, 'r');
  } catch {
    return;
  }
  try {
    for (const [start, end] of residentRanges(smaps)) {
      const pages = (end - start) / PAGE;
      const buf = Buffer.alloc(pages * 8);
      const got = readSync(fd, buf, 0, buf.length, (start / PAGE) * 8);
      for (let off = 0; off + 8 <= got; off += 8) {
        const e = buf.readBigUInt64LE(off);
        if (e & PRESENT) frames.add(Number(e & PFN_MASK));
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** MB of physical memory resident in any of the processes, each page once. Needs root. */
export function residentMB(pids: number[]): number {
  const frames = new Set<number>();
  for (const pid of pids) addFrames(pid, frames);
  return (frames.size * PAGE) / 2 ** 20;
}
