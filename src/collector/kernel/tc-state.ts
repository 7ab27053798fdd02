// What this process put on TC that outlives it: clsact filters and the clsact qdiscs it created.
// Written to /run/weft/tc/<pid>.json on every change, so that after a crash (even SIGKILL) the
// next start can remove exactly those and nothing else (see ./tc-cleanup.ts). tcx links need no
// record: the kernel drops them with the process.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TcDirection } from './types.js';

export const TC_STATE_DIR = process.env.WEFT_TC_STATE_DIR ?? '/run/weft/tc';

/** Our clsact filter handle ("weft" in ASCII) and the priorities we may use, tried in order. */
export const WEFT_TC_HANDLE = 0x77656674;
export const WEFT_TC_FIRST_PRIORITY = 0x7765;
export const WEFT_TC_PRIORITIES = 16;

export interface TcPlace {
  /** Namespace path; '' = the recording process's own namespace. */
  netns: string;
  /** Inode of that namespace, so a recreated namespace of the same name is not mistaken for it. */
  netnsIno: number;
  ifindex: number;
  ifname: string;
}

export interface TcFilterRecord extends TcPlace {
  direction: TcDirection;
  handle: number;
  priority: number;
  /** Id of the program the filter runs: a filter someone put there since is not ours. */
  progId: number;
}

export interface TcState {
  pid: number;
  /** /proc/<pid>/stat start time: tells a live process from a later one reusing the pid. */
  startTime: string;
  filters: TcFilterRecord[];
  qdiscs: TcPlace[];
}

/**
 * Start time of a running process (field 22 of /proc/<pid>/stat), or undefined when it is gone.
 * A zombie counts as gone: its descriptors, and so its links, were released when it died.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** Inode of a network namespace file; '' = this process's own. */
export function netnsInode(netns: string): number | undefined {
  try {
    return statSync(netns === '' ? '/proc/thread-self/ns/net' : netns).ino;
  } catch {
    return undefined;
  }
}

/**
 * A path to reach the namespace with this inode from here: '' if it is our own, the recorded path
 * if that still leads to it, else any /run/netns/* that does; undefined when none does (it is
 * gone, or only reachable through processes we do not know).
 */
export function findNetns(ino: number, recorded: string): string | undefined {
  if (netnsInode('') === ino) return '';
  if (recorded !== '' && netnsInode(recorded) === ino) return recorded;
  try {
    for (const name of readdirSync('/run/netns')) {
      if (netnsInode(`/run/netns/${name}`) === ino) return `/run/netns/${name}`;
    }
  } catch {
    // no named namespaces
  }
  return undefined;
}

export function samePlace(a: TcPlace, b: TcPlace): boolean {
  return a.netnsIno === b.netnsIno && a.ifindex === b.ifindex;
}

const mine: TcState = { pid: process.pid, startTime: processStartTime(process.pid) ?? '', filters: [], qdiscs: [] };

export function stateFile(pid: number): string {
  return join(TC_STATE_DIR, `${pid}.json`);
}

function save(): void {
  const file = stateFile(process.pid);
  if (mine.filters.length === 0 && mine.qdiscs.length === 0) {
    rmSync(file, { force: true });
    return;
  }
  mkdirSync(TC_STATE_DIR, { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(mine));
  renameSync(`${file}.tmp`, file);
}

export function recordFilter(f: TcFilterRecord): void {
  mine.filters.push(f);
  save();
}

export function forgetFilter(f: TcFilterRecord): void {
  mine.filters = mine.filters.filter((x) => x !== f);
  save();
}

export function recordQdisc(p: TcPlace): void {
  if (!mine.qdiscs.some((q) => samePlace(q, p))) mine.qdiscs.push(p);
  save();
}

export function forgetQdisc(p: TcPlace): void {
  mine.qdiscs = mine.qdiscs.filter((q) => !samePlace(q, p));
  save();
}

/** The qdisc we created at this place, if any. */
export function createdQdisc(p: TcPlace): TcPlace | undefined {
  return mine.qdiscs.find((q) => samePlace(q, p));
}
