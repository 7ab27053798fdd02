// The programs' own counters as a health report: keyed by program name, so /metrics gets a fact
// per program and counter.
import type { ProgramStats } from './types.js';

export interface ProgramFacts {
  /** Runs and their total time: there once the kernel has counted any (kernel.bpf_stats_enabled=1). */
  runs?: number;
  runTimeNs?: number;
  /** Runs the kernel skipped because the program was already running on that CPU: events lost. */
  missed: number;
}

export function programFacts(stats: ProgramStats[]): Record<string, ProgramFacts> {
  const out: Record<string, ProgramFacts> = {};
  for (const p of stats) out[p.name] = p.runCount > 0 ? { runs: p.runCount, runTimeNs: p.runTimeNs, missed: p.recursionMisses } : { missed: p.recursionMisses };
  return out;
}
