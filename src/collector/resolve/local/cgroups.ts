// cgroup id (what bpf_get_current_cgroup_id returns: the kernfs id, which is the inode of the
// cgroup's directory in the cgroup v2 tree) → cgroup path, from a background walk of that tree.
// On hybrid v1/v2 hosts the v2 tree is not /sys/fs/cgroup itself, so its mount point is looked up.
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';

/** Mount point of the cgroup2 file system, from the text of /proc/self/mountinfo. */
export function cgroup2Mount(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    // Octal escapes (\040 for a space) as the kernel writes them.
    if (fstype === 'cgroup2') return line.slice(0, sep).split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}

function findRoot(): string | undefined {
  try {
    return cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

export class CgroupIndex {
  private byId = new Map<number, string>();
  private readonly root: string | undefined;

  constructor(
    root?: string,
    private readonly maxDirs = 50_000,
  ) {
    this.root = root ?? findRoot();
  }

  async refresh(): Promise<void> {
    if (!this.root) return;
    const next = new Map<number, string>();
    const pending = [''];
    while (pending.length > 0 && next.size < this.maxDirs) {
      const rel = pending.pop() as string;
      const st = await stat(this.root + rel).catch(() => undefined);
      if (!st) continue;
      next.set(st.ino, rel === '' ? '/' : rel);
      const children = await readdir(this.root + rel, { withFileTypes: true }).catch(() => []);
      for (const c of children) if (c.isDirectory()) pending.push(`${rel}/${c.name}`);
    }
    this.byId = next;
  }

  path(id: number): string | undefined {
    return this.byId.get(id);
  }
}
