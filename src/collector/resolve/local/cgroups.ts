// cgroup id (the inode of its directory in the cgroup v2 tree, what bpf_get_current_cgroup_id
// returns) → cgroup path, from a background walk of /sys/fs/cgroup.
import { readdir, stat } from 'node:fs/promises';

export class CgroupIndex {
  private byId = new Map<number, string>();

  constructor(
    private readonly root = '/sys/fs/cgroup',
    private readonly maxDirs = 50_000,
  ) {}

  async refresh(): Promise<void> {
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
