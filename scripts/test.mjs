#!/usr/bin/env node
// Type-checks and lints, then runs the suites one after another (unit, plugin, integration, e2e),
// prints how long each took, and ends with one summary line over all of them. Extra arguments go
// to vitest (e.g. a file filter); WEFT_SUITES=unit,plugin runs only those suites, without checks.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SUITES = ['unit', 'plugin', 'integration', 'e2e'];
const only = process.env.WEFT_SUITES ? process.env.WEFT_SUITES.split(',') : SUITES;
const outDir = join(root, 'lib/test-results');
mkdirSync(outDir, { recursive: true });

const totals = { passed: 0, failed: 0, skipped: 0 };
const timings = [];
let exitCode = 0;

// Whole-program checks first: the types of every side, and the plugin's lint rules.
const CHECKS = [
  ['typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']],
  ['lint', ['node_modules/eslint/bin/eslint.js', '--max-warnings', '0', 'src/plugin']],
];
if (!process.env.WEFT_SUITES) {
  for (const [name, args] of CHECKS) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
    const ok = r.status === 0;
    totals[ok ? 'passed' : 'failed'] += 1;
    if (!ok) exitCode = 1;
    timings.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)}s (${ok ? 'passed' : 'failed'})`);
  }
}
for (const suite of only) {
  const out = join(outDir, `${suite}.json`);
  rmSync(out, { force: true });
  const t0 = Date.now();
  const r = spawnSync(
    process.execPath,
    ['node_modules/vitest/vitest.mjs', 'run', '--project', suite, '--passWithNoTests', ...(suite === 'integration' || suite === 'e2e' ? ['--no-file-parallelism'] : []), '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)],
    { stdio: 'inherit', cwd: root },
  );
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  let counts = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    counts = { passed: j.numPassedTests, failed: j.numFailedTests, skipped: j.numPendingTests + (j.numTodoTests ?? 0) };
  }
  if (r.status !== 0) {
    exitCode = 1;
    if (counts.failed === 0) counts.failed = 1; // a suite that crashed counts as a failure
  }
  for (const k of Object.keys(totals)) totals[k] += counts[k];
  timings.push(`${suite} ${seconds}s (${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped)`);
  console.log(`weft: suite ${suite} took ${seconds}s`);
}
// Nothing of ours may stay on any interface after the kernel suites, failed or not.
if (only.includes('integration') && process.getuid?.() === 0) {
  const r = spawnSync(process.execPath, ['scripts/tc-leftovers.mjs'], { stdio: 'inherit', cwd: root });
  if (r.status === 0) totals.passed += 1;
  else {
    totals.failed += 1;
    exitCode = 1;
  }
}
console.log(`weft: ${timings.join('; ')}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(exitCode);
