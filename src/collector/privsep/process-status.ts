// A process's identity and capabilities as /proc/PID/status states them: what /healthz reports
// about the server process, and what the privilege tests check.
import { readFileSync } from 'node:fs';

export interface ProcessPrivileges {
  /** Real, effective, saved and filesystem UIDs. */
  uids: number[];
  gids: number[];
  groups: number[];
  /** Capability sets as the kernel prints them (hex bit masks). */
  capInh: string;
  capPrm: string;
  capEff: string;
  capBnd: string;
  capAmb: string;
  noNewPrivs: boolean;
}

export function parseStatus(text: string): ProcessPrivileges {
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(text);
    if (!m) throw new Error(`/proc status has no ${name} line`);
    return m[1]!.trim();
  };
  const numbers = (name: string): number[] => field(name).split(/\s+/).filter(Boolean).map(Number);
  return {
    uids: numbers('Uid'),
    gids: numbers('Gid'),
    groups: numbers('Groups'),
    capInh: field('CapInh'),
    capPrm: field('CapPrm'),
    capEff: field('CapEff'),
    capBnd: field('CapBnd'),
    capAmb: field('CapAmb'),
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}

/** `of`: a PID, 'self', or PID/task/TID for one thread. */
export function processPrivileges(of: number | string = 'self'): ProcessPrivileges {
  return parseStatus(readFileSync(`/proc/${of}/status`, 'utf8'));
}

/** True when the set holds no capability at all. */
export const noCapabilities = (mask: string): boolean => /^0+$/.test(mask);

/** What a process really holds, as the kernel says (setpriv cannot empty the bounding set without CAP_SETPCAP). */
export function describePrivileges(of: number | string = 'self'): string {
  try {
    const p = processPrivileges(of);
    const caps = noCapabilities(p.capEff) && noCapabilities(p.capPrm) ? 'no capabilities' : `capabilities ${p.capEff} (expected none)`;
    const bounding = noCapabilities(p.capBnd) ? 'empty bounding set' : `bounding set ${p.capBnd} (not emptied: the parent lacks CAP_SETPCAP)`;
    return `uid ${p.uids[0]} gid ${p.gids[0]}, ${caps}, ${bounding}, no_new_privs ${p.noNewPrivs ? 'on' : 'off'}`;
  } catch (e) {
    return `privileges unknown (${(e as Error).message})`;
  }
}
