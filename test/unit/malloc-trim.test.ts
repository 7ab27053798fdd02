// Trimming is an optimisation: a process without its addon goes on and says why.
import { describe, expect, it } from 'vitest';
import { trimMallocEvery } from '../../src/collector/malloc-trim.js';

describe('trimMallocEvery', () => {
  it('without the addon, logs once what is missing and runs on', () => {
    const lines: string[] = [];
    const stop = trimMallocEvery((l) => lines.push(l), 1000, '/nonexistent/weft_memory.node');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^memory is not trimmed \(Cannot find module '\/nonexistent\/weft_memory.node'.*\); run "npm run build"$/);
    expect(() => stop()).not.toThrow();
  });
});
