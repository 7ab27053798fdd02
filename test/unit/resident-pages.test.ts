import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { residentMB, residentRanges } from '../helpers/resident-pages.js';
import { describePrivileged } from '../helpers/privileged.js';

it('takes the address ranges of mappings with resident pages from smaps', () => {
  const smaps = [
    '55d0c0000000-55d0c0002000 r--p 00000000 fe:01 123  /usr/bin/node',
    'Size:                  8 kB',
    'Rss:                   8 kB',
    '7f0000000000-7f0000100000 ---p 00000000 00:00 0',
    'Size:               1024 kB',
    'Rss:                   0 kB',
    '7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0  [stack]',
    'Rss:                  12 kB',
    'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]',
    'Rss:                   4 kB',
  ].join('\n');
  expect(residentRanges(smaps)).toEqual([
    [0x55d0c0000000, 0x55d0c0002000],
    [0x7ffc00000000, 0x7ffc00021000],
  ]);
});

describePrivileged('resident pages of a group of processes', () => {
  it('counts a process as its RSS, and a page two of them map once', () => {
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
    const own = residentMB([process.pid]);
    expect(own).toBeGreaterThan(rss * 0.9);
    expect(own).toBeLessThan(rss * 1.1);
    // The parent (the test runner) maps the same node binary: the union is less than the sum.
    const both = residentMB([process.pid, process.ppid]);
    const parent = residentMB([process.ppid]);
    expect(both).toBeLessThan(own + parent - 1);
    expect(both).toBeGreaterThanOrEqual(Math.max(own, parent));
  });
});
