// Attaches a loaded sched_cls program to one side of an interface: as a tcx link where the kernel
// has tcx (gone with our fd, even after SIGKILL), else as a clsact filter with our own handle and
// priority, recorded in ./tc-state.ts until detached.
import { kernelError } from './errors.js';
import { native } from './native.js';
import { probeTcx } from './probe.js';
import { cleanupStaleTc } from './tc-cleanup.js';
import {
  WEFT_TC_FIRST_PRIORITY,
  WEFT_TC_HANDLE,
  WEFT_TC_PRIORITIES,
  createdQdisc,
  forgetFilter,
  forgetQdisc,
  netnsInode,
  recordFilter,
  recordQdisc,
  type TcFilterRecord,
  type TcPlace,
} from './tc-state.js';
import type { Attachment, TcAttachOptions } from './types.js';

/** Hooks in use by this process: program + namespace + interface + direction. */
const inUse = new Set<string>();

/**
 * clsact filters outlive the process; on any exit that still runs JavaScript (process.exit, an
 * uncaught exception) remove the ones nobody detached. SIGKILL is left to cleanupStaleTc().
 */
const clsactDetachers = new Set<() => void>();
let exitHook = false;
function detachOnExit(detach: () => void): void {
  clsactDetachers.add(detach);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const d of [...clsactDetachers]) {
      try {
        d();
      } catch {
        // the state file keeps it for the next start's cleanupStaleTc()
      }
    }
  });
}

let cleaned = false;

export function attachTcProgram(program: string, progFd: number, progId: number, opts: TcAttachOptions): Attachment {
  const addon = native();
  // Whoever starts using TC first in this process clears what crashed runs left (once).
  if (!cleaned) {
    cleaned = true;
    cleanupStaleTc();
  }
  const netns = opts.netns ?? '';
  if (opts.direction !== 'ingress' && opts.direction !== 'egress') {
    throw kernelError(`TC direction must be 'ingress' or 'egress', got '${String(opts.direction)}'`, { code: 'EINVAL' });
  }
  const netnsIno = netnsInode(netns);
  if (netnsIno === undefined) throw kernelError(`network namespace ${netns} does not exist`, { errno: 2, code: 'ENOENT' });
  const { ifindex, ifname } = addon.ifIndex(netns, opts.interface);
  const where = `${ifname}${netns ? `@${netns}` : ''}:${opts.direction}`;
  const key = `${progId}/${netnsIno}/${ifindex}/${opts.direction}`;
  if (inUse.has(key)) {
    throw kernelError(`program '${program}' is already attached to ${where}`, { errno: 17, code: 'EEXIST' });
  }
  const mode = opts.mode ?? (probeTcx() ? 'tcx' : 'clsact');
  const attachment = mode === 'tcx' ? attachTcx(program, progFd, netns, ifindex, where, opts) : attachClsact(program, progFd, netns, netnsIno, ifindex, where, opts);
  inUse.add(key);
  let attached = true;
  const detach = () => {
    if (!attached) return;
    attached = false;
    inUse.delete(key);
    clsactDetachers.delete(detach);
    attachment.detach();
  };
  if (attachment.kind === 'clsact') detachOnExit(detach);
  return { ...attachment, detach };
}

function attachTcx(program: string, progFd: number, netns: string, ifindex: number, where: string, opts: TcAttachOptions): Attachment {
  const addon = native();
  const { fd } = addon.tcxAttach(netns, ifindex, opts.direction, progFd);
  return { kind: 'tcx', program, target: where, ifindex, detach: () => addon.closeFd(fd) };
}

function attachClsact(
  program: string,
  progFd: number,
  netns: string,
  netnsIno: number,
  ifindex: number,
  where: string,
  opts: TcAttachOptions,
): Attachment {
  const addon = native();
  const r = addon.tcAttach(netns, ifindex, opts.direction, progFd, WEFT_TC_HANDLE, WEFT_TC_FIRST_PRIORITY, WEFT_TC_PRIORITIES);
  const place: TcPlace = { netns, netnsIno, ifindex, ifname: r.ifname };
  if (r.createdQdisc) recordQdisc(place);
  const filter: TcFilterRecord = { ...place, direction: opts.direction, handle: WEFT_TC_HANDLE, priority: r.priority, progId: r.progId };
  recordFilter(filter);
  return {
    kind: 'clsact',
    program,
    target: where,
    ifindex,
    detach() {
      // A namespace deleted or recreated since took our filter with it.
      const alive = netnsInode(netns) === netnsIno;
      if (alive) addon.tcDetach(netns, ifindex, filter.direction, filter.handle, filter.priority, filter.progId);
      forgetFilter(filter);
      const qdisc = createdQdisc(place);
      if (!qdisc) return;
      // Our qdisc goes when no filter (ours or anyone's) is left on it.
      if (!alive || addon.tcRemoveIdleClsact(netns, ifindex) !== 'in-use') forgetQdisc(qdisc);
    },
  };
}
