// The kernel counts program run time only while someone asks for it (bpf_enable_stats).
import { native } from './native.js';

export interface StatsHandle {
  /** Stops asking; the kernel stops counting once no one asks. Idempotent. */
  close(): void;
}

export function enableStats(): StatsHandle {
  const addon = native();
  let fd = addon.enableStats();
  return {
    close() {
      if (fd >= 0) addon.closeFd(fd);
      fd = -1;
    },
  };
}
