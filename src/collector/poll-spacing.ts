// When the link collector reads the kernel's map of open connections next.

/**
 * The time to the next poll. A poll costs in proportion to the open connections (a few hundred ms
 * at 100,000): the next one waits at least five times as long as the last one took, so polling
 * takes at most a fifth of a core however large the table, instead of running back to back.
 */
export function nextPollMs(pollIntervalMs: number, lastPollMs: number): number {
  return Math.max(pollIntervalMs, Math.ceil(5 * lastPollMs));
}
