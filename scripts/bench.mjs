#!/usr/bin/env node
// Runs every test/bench/*.bench.ts (or those named on the command line) one after another; each
// prints its own figures and the ratios it compares within the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'test/bench');
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();
let failed = 0;
for (const f of files) {
  console.log(`\n== ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, f)], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed += 1;
}
console.log(`\nbench: ${files.length - failed} ran, ${failed} failed`);
process.exit(failed ? 1 : 0);
