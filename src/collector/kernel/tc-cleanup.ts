// Removes what a crashed weft process left on TC: the clsact filters it recorded (only if the
// same program still runs there) and the clsact qdiscs it created (only if no filter at all is
// left on them). Processes still alive are left alone, whoever they are.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { native } from './native.js';
import { TC_STATE_DIR, netnsInode, processStartTime, stateFile, type TcPlace, type TcState } from './tc-state.js';

export interface TcCleanupResult {
  /** State files of dead processes that were processed. */
  processes: number[];
  filtersRemoved: number;
  qdiscsRemoved: number;
  /** Entries that could not be removed, with why; their state file is kept for a later try. */
  errors: string[];
}

function reachable(p: TcPlace): boolean {
  // '' was the dead process's own namespace: only reachable if it is ours too.
  return netnsInode(p.netns) === p.netnsIno;
}

export function cleanupStaleTc(): TcCleanupResult {
  const result: TcCleanupResult = { processes: [], filtersRemoved: 0, qdiscsRemoved: 0, errors: [] };
  let files: string[];
  try {
    files = readdirSync(TC_STATE_DIR).filter((f) => /^\d+\.json$/.test(f));
  } catch {
    return result;
  }
  const addon = native();
  for (const f of files) {
    const pid = Number(f.slice(0, -5));
    if (pid === process.pid) continue;
    let state: TcState;
    try {
      state = JSON.parse(readFileSync(stateFile(pid), 'utf8')) as TcState;
    } catch (e) {
      result.errors.push(`${stateFile(pid)}: ${(e as Error).message}`);
      continue;
    }
    const start = processStartTime(pid);
    if (start !== undefined && start === state.startTime) continue;
    result.processes.push(pid);
    const before = result.errors.length;
    for (const flt of state.filters ?? []) {
      if (!reachable(flt)) continue;
      try {
        if (addon.tcDetach(flt.netns, flt.ifindex, flt.direction, flt.handle, flt.priority, flt.progId)) result.filtersRemoved += 1;
      } catch (e) {
        result.errors.push(`filter on ${flt.ifname}${flt.netns ? `@${flt.netns}` : ''}: ${(e as Error).message}`);
      }
    }
    for (const q of state.qdiscs ?? []) {
      if (!reachable(q)) continue;
      try {
        if (addon.tcRemoveIdleClsact(q.netns, q.ifindex)) result.qdiscsRemoved += 1;
      } catch (e) {
        result.errors.push(`clsact on ${q.ifname}${q.netns ? `@${q.netns}` : ''}: ${(e as Error).message}`);
      }
    }
    if (result.errors.length === before) rmSync(stateFile(pid), { force: true });
  }
  return result;
}
