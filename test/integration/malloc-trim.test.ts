// The addon's malloc trim against a real glibc heap: a process that freed most of what it
// allocated, in holes between live chunks, gives those pages back.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { memoryAddonPath } from '../../src/collector/malloc-trim.js';

// 4,000 buffers of 32 KB (malloc'd, below glibc's mmap threshold), every 8th kept: 112 MB freed in
// holes of 224 KB that free() alone leaves in the heap.
const CHILD = `
const fs = require('fs');
const addon = require(process.argv[1]);
const rss = () => Number(fs.readFileSync('/proc/self/statm', 'utf8').split(' ')[1]) * 4096;
const keep = [];
let all = [];
for (let i = 0; i < 4000; i++) { const b = Buffer.allocUnsafeSlow(32 * 1024); b.fill(1); (i % 8 === 0 ? keep : all).push(b); }
all = null;
gc();
const before = rss();
let after = before;
let released = false;
// V8 frees the buffers' memory in the background after a collection: trimmed as it comes, up to
// 15 s (a loaded machine runs that thread late; an unloaded one is done in a step or two).
const step = (n) => {
  gc();
  released = addon.mallocTrim() || released;
  after = rss();
  if (before - after > 64 * 1024 * 1024 || n === 0) console.log(JSON.stringify({ before, after, released, kept: keep.length }));
  else setTimeout(step, 100, n - 1);
};
setTimeout(step, 100, 150);
`;

describe('malloc trim', () => {
  it('gives the pages of freed chunks back to the kernel', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', CHILD, memoryAddonPath], { encoding: 'utf8', timeout: 30_000 });
    const r = JSON.parse(out) as { before: number; after: number; released: boolean; kept: number };
    expect(r.released).toBe(true);
    expect(r.kept).toBe(500);
    expect(r.before - r.after).toBeGreaterThan(64 * 1024 * 1024);
  });
});
