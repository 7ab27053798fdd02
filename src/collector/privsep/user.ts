// Who the unprivileged processes (the server, the resolver) run as: a user name looked up in
// /etc/passwd, or UID[:GID] for images without one. Never root: that would defeat the separation.
// setpriv (util-linux) switches to that user with every capability set emptied and no_new_privs
// before Node starts, so every thread of the child is born without privileges.
import { readFileSync } from 'node:fs';

export interface ServerUser {
  uid: number;
  gid: number;
}

export class UserError extends Error {}

/** `spec` against the text of an /etc/passwd. */
export function resolveUser(spec: string, passwd: string): ServerUser {
  let user: ServerUser | undefined;
  const numeric = /^(\d+)(?::(\d+))?$/.exec(spec.trim());
  if (numeric) {
    const uid = Number(numeric[1]);
    user = { uid, gid: numeric[2] === undefined ? uid : Number(numeric[2]) };
  } else {
    for (const line of passwd.split('\n')) {
      const f = line.split(':');
      if (f.length >= 4 && f[0] === spec.trim() && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!)) user = { uid: Number(f[2]), gid: Number(f[3]) };
    }
    if (!user) throw new UserError(`--user: no user "${spec}" in /etc/passwd; give a name that exists or UID:GID`);
  }
  if (user.uid === 0 || user.gid === 0) throw new UserError(`--user: "${spec}" is root; the server process must run as an unprivileged user`);
  return user;
}

export function lookupUser(spec: string, passwdFile = '/etc/passwd'): ServerUser {
  let passwd = '';
  try {
    passwd = readFileSync(passwdFile, 'utf8');
  } catch {
    // No passwd file (a scratch image): only UID[:GID] can work, and resolveUser says so.
  }
  return resolveUser(spec, passwd);
}

/** setpriv's arguments, to be followed by the program to run as `user`. */
export function setprivArgs(user: ServerUser): string[] {
  return [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all', '--no-new-privs', '--'];
}

/** Node's arguments to run `module` as this process runs: from sources (.ts) a child needs tsx even when this process got it some other way (a test runner). */
export function nodeArgs(module: string): string[] {
  const loader = module.endsWith('.ts') && !process.execArgv.some((a) => a.includes('tsx')) ? ['--import', 'tsx'] : [];
  return [...process.execArgv, ...loader, module];
}
