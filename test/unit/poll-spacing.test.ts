import { describe, expect, it } from 'vitest';
import { nextPollMs } from '../../src/collector/poll-spacing.js';

describe('poll spacing', () => {
  it('keeps the interval while polls are cheap', () => {
    expect(nextPollMs(100, 0)).toBe(100);
    expect(nextPollMs(100, 20)).toBe(100);
  });

  it('spaces polls to five times what the last one took once that passes the interval', () => {
    expect(nextPollMs(100, 21)).toBe(105);
    expect(nextPollMs(100, 250)).toBe(1250);
    expect(nextPollMs(1000, 250)).toBe(1250);
  });
});
