// The programs' counters as /healthz shows them: run figures only once the kernel counts them.
import { describe, expect, it } from 'vitest';
import { programFacts } from '../../src/collector/kernel/program-facts.js';

describe('program facts for /healthz', () => {
  it('gives runs and run time once the kernel has counted any, and skipped runs always', () => {
    const facts = programFacts([
      { name: 'link_state', runCount: 120, runTimeNs: 54_000, recursionMisses: 2 },
      { name: 'link_send', runCount: 0, runTimeNs: 0, recursionMisses: 0 },
    ]);
    expect(facts).toEqual({ link_state: { runs: 120, runTimeNs: 54_000, missed: 2 }, link_send: { missed: 0 } });
  });
});
