#!/usr/bin/env node
// Makes a fresh Debian machine ready for `npm start`, `npm test` or `npm run bench`:
// Debian packages first, then npm dependencies, then the native addon (against the local Node
// headers, so nothing is downloaded), the eBPF objects, the TypeScript and the plugin — each only
// when missing or stale. Uses nothing but Node's standard library: it runs before `npm ci`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const goal = process.argv[2] ?? 'build';
const GOALS = ['start', 'build', 'test', 'bench'];
if (!GOALS.includes(goal)) fail(`unknown goal "${goal}"; use one of ${GOALS.join(', ')}`);

// What each goal needs, as a command or file that proves it is there, and the Debian package that
// provides it. Checking the file rather than the package lets an equivalent tool installed another
// way (e.g. a kubectl from elsewhere) count. Build: compilers and libbpf; test adds the tools the
// tests drive (network namespaces, nftables, conntrack, a browser, promtool, manifest checks).
const BUILD_NEEDS = [
  ['clang', 'clang'],
  ['make', 'make'],
  ['g++', 'g++'],
  ['python3', 'python3'],
  ['pkg-config', 'pkg-config'],
  ['/usr/include/bpf/libbpf.h', 'libbpf-dev'],
  ['/usr/include/libelf.h', 'libelf-dev'],
  ['/usr/include/zlib.h', 'zlib1g-dev'],
  ['bpftool', 'bpftool'],
  ['ip', 'iproute2'],
  ['tc', 'iproute2'],
];
const TEST_NEEDS = [
  ['nft', 'nftables'],
  ['conntrack', 'conntrack'],
  ['chromium', 'chromium'],
  ['promtool', 'prometheus'],
  ['systemd-analyze', 'systemd'],
  ['kubectl', 'kubernetes-client'],
];
const needs = goal === 'test' || goal === 'bench' ? [...BUILD_NEEDS, ...TEST_NEEDS] : BUILD_NEEDS;

const timings = [];
function phase(name, fn) {
  const t0 = process.hrtime.bigint();
  fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  timings.push(`${name} ${(ms / 1000).toFixed(1)}s`);
}

function fail(sentence) {
  console.error(`weft: ${sentence}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${[cmd, ...args].join(' ')} failed with exit code ${r.status}`);
}

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')];
const present = (what) => (what.startsWith('/') ? existsSync(what) : PATH_DIRS.some((d) => d && existsSync(join(d, what))));

function ensurePackages() {
  if (process.platform !== 'linux') fail('Weft runs on Linux only (it loads eBPF programs into the running kernel).');
  const missing = [...new Set(needs.filter(([what]) => !present(what)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  const hasApt = present('apt-get');
  if (!hasApt) fail(`apt-get was not found: install these packages (Debian names) by hand, then rerun: ${missing.join(' ')}`);
  if (process.getuid?.() !== 0) fail(`missing Debian packages (${missing.join(' ')}): run as root, or install them with "sudo apt-get install ${missing.join(' ')}".`);
  console.log(`weft: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Wait for a dpkg lock held by unattended-upgrades instead of failing at once.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  run('apt-get', [...lock, 'update', '-qq'], { env });
  run('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function newest(paths) {
  let t = 0;
  const visit = (p) => {
    if (!existsSync(p)) return;
    const s = statSync(p);
    if (s.isDirectory()) {
      for (const e of readdirSync(p)) if (e !== 'node_modules' && !e.startsWith('.')) visit(join(p, e));
    } else t = Math.max(t, s.mtimeMs);
  };
  paths.forEach((p) => visit(join(root, p)));
  return t;
}

const stale = (output, inputs) => !existsSync(join(root, output)) || statSync(join(root, output)).mtimeMs < newest(inputs);

function ensureNodeModules() {
  if (stale('node_modules/.package-lock.json', ['package-lock.json', 'package.json'])) run('npm', ['ci', '--no-audit', '--no-fund']);
}

function ensureAddon() {
  if (!['weft', 'weft_memory'].some((a) => stale(`build/Release/${a}.node`, ['binding.gyp', 'src/collector/native']))) return;
  const nodedir = dirname(dirname(process.execPath));
  if (!existsSync(join(nodedir, 'include/node/node_api.h'))) fail(`Node's headers are not in ${nodedir}/include/node: install the Node.js package that ships them (e.g. Debian's libnode-dev), or set nodedir.`);
  run(process.execPath, ['node_modules/node-gyp/bin/node-gyp.js', 'rebuild', `--nodedir=${nodedir}`, `--jobs=2`]);
}

function ensureBpf() {
  run('make', ['-s', '-C', 'bpf']);
}

function ensureTypeScript() {
  run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
}

function ensurePlugin() {
  if (!existsSync(join(root, 'webpack.config.ts')) && !existsSync(join(root, 'webpack.config.mjs'))) return;
  if (!stale('dist/module.js', ['src/plugin', 'src/protocol', 'webpack.config.mjs', 'webpack.config.ts'])) return;
  run('npm', ['run', '-s', 'build:plugin']);
}

phase('install (debian)', ensurePackages);
phase('install (npm)', ensureNodeModules);
phase('build (addon)', ensureAddon);
phase('build (bpf)', ensureBpf);
phase('build (typescript)', ensureTypeScript);
if (goal !== 'start') phase('build (plugin)', ensurePlugin);
console.log(`weft: ready for ${goal} — ${timings.join(', ')}`);
