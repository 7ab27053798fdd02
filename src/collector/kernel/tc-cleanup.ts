// Removes what a crashed weft process left on TC: the clsact filters it recorded (only if the
// same program still runs there) and the clsact qdiscs it created (only if no filter at all is
// left on them). Processes still alive are left alone, whoever they are.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { native } from './native.js';
import { TC_STATE_DIR, findNetns, processStartTime, stateFile, type TcState } from './tc-state.js';

export interface TcCleanupResult {
  /** State files of dead processes that were processed. */
  processes: number[];
  filtersRemoved: number;
  qdiscsRemoved: number;
  /** Entries that could not be removed, with why; their state file is kept for a later try. */
  errors: string[];
}

/** Runs by itself before this process's first TC attachment; call it at start to know the result. */
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
    // A namespace no path leads to any more is gone, and took what we put there with it.
    for (const flt of state.filters ?? []) {
      const netns = findNetns(flt.netnsIno, flt.netns);
      if (netns === undefined) continue;
      try {
        if (addon.tcDetach(netns, flt.ifindex, flt.direction, flt.handle, flt.priority, flt.progId)) result.filtersRemoved += 1;
      } catch (e) {
        result.errors.push(`filter on ${flt.ifname}${flt.netns ? `@${flt.netns}` : ''}: ${(e as Error).message}`);
      }
    }
    for (const q of state.qdiscs ?? []) {
      const netns = findNetns(q.netnsIno, q.netns);
      if (netns === undefined) continue;
      try {
        if (addon.tcRemoveIdleClsact(netns, q.ifindex) === 'removed') result.qdiscsRemoved += 1;
      } catch (e) {
        result.errors.push(`clsact on ${q.ifname}${q.netns ? `@${q.netns}` : ''}: ${(e as Error).message}`);
      }
    }
    if (result.errors.length === before) rmSync(stateFile(pid), { force: true });
  }
  return result;
}
