// What the privilege-separation tests check of a child process in /proc: every one of its
// threads runs as nobody with no capability in any set, no groups and no_new_privs.
import { readdirSync, readlinkSync } from 'node:fs';
import { expect } from 'vitest';
import { noCapabilities, processPrivileges } from '../../src/collector/privsep/process-status.js';

export function expectUnprivileged(pid: number): void {
  const tasks = readdirSync(`/proc/${pid}/task`);
  // Node runs a libuv pool and V8 workers: each thread has its own capability sets.
  expect(tasks.length).toBeGreaterThan(1);
  for (const tid of tasks) {
    const s = processPrivileges(`${pid}/task/${tid}`);
    expect(s.uids, `thread ${tid}`).toEqual([65534, 65534, 65534, 65534]);
    expect(s.gids, `thread ${tid}`).toEqual([65534, 65534, 65534, 65534]);
    expect(s.groups).toEqual([]);
    for (const set of [s.capEff, s.capPrm, s.capInh, s.capAmb, s.capBnd]) expect(noCapabilities(set), `thread ${tid}: ${JSON.stringify(s)}`).toBe(true);
    expect(s.noNewPrivs).toBe(true);
  }
}

// What each open descriptor of a process points at. A descriptor closed between the listing and
// the read (the child's sockets come and go) is left out rather than failing the read.
export function openFiles(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  });
}
