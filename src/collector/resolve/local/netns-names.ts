// Network namespace inode → name: the name under /run/netns (ip netns add), else "host" for the
// initial namespace, else the process that lives in it (`comm[pid]`, lowest pid: usually the
// container's init). Rescanned in the background; lookups only read the last scan.
import { statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';

/**
 * Inode of the host's (the initial) network namespace: pid 1's, or kthreadd's (pid 2) where
 * pid 1 cannot be inspected — kernel threads always live in the initial namespace.
 */
export function hostNetnsInode(procDir = '/proc'): number | undefined {
  for (const pid of [1, 2]) {
    try {
      return statSync(`${procDir}/${pid}/ns/net`).ino;
    } catch {
      // not visible: try the next
    }
  }
  return undefined;
}

export interface NetnsEntry {
  inode: number;
  name: string;
  /** A path that enters it: /run/netns/NAME or /proc/PID/ns/net. */
  path: string;
  /** Lowest pid seen inside (absent for a named namespace with no process). */
  pid?: number;
}

export interface NetnsScanOptions {
  runDir?: string;
  procDir?: string;
}

export async function scanNetns(opts: NetnsScanOptions = {}): Promise<Map<number, NetnsEntry>> {
  const runDir = opts.runDir ?? '/run/netns';
  const procDir = opts.procDir ?? '/proc';
  const out = new Map<number, NetnsEntry>();
  const runDev = (await stat(runDir).catch(() => undefined))?.dev;
  for (const name of await readdir(runDir).catch(() => [] as string[])) {
    const st = await stat(`${runDir}/${name}`).catch(() => undefined);
    // An entry not yet bind-mounted is still a plain file on /run (same device): skip it.
    if (st && st.dev !== runDev) out.set(st.ino, { inode: st.ino, name, path: `${runDir}/${name}` });
  }
  const pids = (await readdir(procDir).catch(() => [] as string[]))
    .filter((p) => /^\d+$/.test(p))
    .map(Number)
    .sort((a, b) => a - b);
  const hostInode = hostNetnsInode(procDir);
  for (const pid of pids) {
    const st = await stat(`${procDir}/${pid}/ns/net`).catch(() => undefined);
    if (!st) continue;
    const known = out.get(st.ino);
    if (known) {
      known.pid ??= pid;
      continue;
    }
    const comm = st.ino === hostInode ? 'host' : await readFile(`${procDir}/${pid}/comm`, 'utf8').then((c) => `${c.trimEnd()}[${pid}]`, () => undefined);
    if (comm !== undefined) out.set(st.ino, { inode: st.ino, name: comm, path: `${procDir}/${pid}/ns/net`, pid });
  }
  return out;
}

export class NetnsNames {
  private entries = new Map<number, NetnsEntry>();

  constructor(private readonly opts: NetnsScanOptions = {}) {}

  async refresh(): Promise<void> {
    this.entries = await scanNetns(this.opts);
  }

  name(inode: number): string | undefined {
    return this.entries.get(inode)?.name;
  }

  all(): NetnsEntry[] {
    return [...this.entries.values()];
  }
}
