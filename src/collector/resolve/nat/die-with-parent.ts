// Commands that must end with the collector however it ends (SIGKILL, a crash): a `conntrack -E`
// left behind runs for ever and keeps its network namespace, and so that namespace's veths, alive.
// setpriv (util-linux) sets the parent-death signal and then execs the command (nsenter execs
// conntrack in turn), so the signal reaches conntrack itself. The kernel sends it when the thread
// that forked the child ends; Node forks from the thread whose event loop calls spawn, the main
// thread here, which ends only with the process.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** setpriv's path on PATH, or undefined: without it children outlive a killed collector. */
export function findSetpriv(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, 'setpriv'), constants.X_OK);
      return join(dir, 'setpriv');
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** `cmd args` to spawn so that it gets SIGKILL when this process dies (as it is, without setpriv). */
export function dieWithParent(setpriv: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', '--', cmd, ...args]] : [cmd, args];
}
