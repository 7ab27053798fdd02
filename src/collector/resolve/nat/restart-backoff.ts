// When to restart a `conntrack -E` stream that ended. Quick ends in a row double the wait, so a
// missing tool or a vanished namespace does not spin; a stream that had run healthily starts the
// count again, so one ending after hours is restarted at once instead of after the longest wait.
export const FIRST_DELAY_MS = 500;
export const MAX_DELAY_MS = 30_000;
/** A stream that ran this long was healthy: its end is not one more failure in a row. */
export const HEALTHY_RUN_MS = 60_000;

export interface Restart {
  delayMs: number;
  /** Quick ends in a row counting this one: pass it back when the restarted stream ends. */
  quickEnds: number;
}

/** The restart after a stream ended having run `ranMs`, after `quickEnds` quick ends in a row. */
export function restartAfter(quickEnds: number, ranMs: number): Restart {
  const before = ranMs >= HEALTHY_RUN_MS ? 0 : quickEnds;
  return { delayMs: Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(before, 6)), quickEnds: before + 1 };
}
