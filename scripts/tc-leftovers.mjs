#!/usr/bin/env node
// Lists what weft left on TC, in the root network namespace and in every /run/netns/*:
//  - clsact filters with weft's handle (0x77656674),
//  - clsact qdiscs a weft process created (recorded in /run/weft/tc/<pid>.json) that still exist,
//  - state files of weft processes that are gone (a crash nobody cleaned up after),
//  - tcx links running a program of lib/bpf (tcx links live as long as the process that made them).
// Prints each and exits 1 if there is any; prints "no weft TC leftovers" and exits 0 otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HANDLE = '0x77656674';
const STATE_DIR = process.env.WEFT_TC_STATE_DIR ?? '/run/weft/tc';
const BPF_LINK_TYPE_TCX = 11;
const found = [];

const json = (cmd, args) => {
  const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  return out ? JSON.parse(out) : [];
};

// [label, `tc -n` argument or undefined for the root namespace, namespace file]
const namespaces = [['root namespace', undefined, '/proc/1/ns/net']];
if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) namespaces.push([`netns ${n}`, n, `/run/netns/${n}`]);

const inode = (path) => {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
};

// Alive and the same process (not a zombie, not a later one reusing the pid).
const running = (pid, startTime) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && fields[0] !== 'X' && fields[19] === startTime;
  } catch {
    return false;
  }
};

const clsactAt = new Map(); // `${netnsIno}/${ifindex}` → label
for (const [label, ns, file] of namespaces) {
  const nsArgs = ns ? ['-n', ns] : [];
  let links;
  try {
    links = json('ip', [...nsArgs, '-j', 'link', 'show']);
  } catch {
    continue; // namespace went away while we looked
  }
  for (const { ifname, ifindex } of links) {
    try {
      for (const dir of ['ingress', 'egress']) {
        for (const f of json('tc', [...nsArgs, '-j', 'filter', 'show', 'dev', ifname, dir])) {
          if (f.options?.handle === HANDLE) {
            found.push(`${label}: ${ifname} ${dir}: weft clsact filter pref ${f.pref} running ${f.options.prog?.name ?? '?'}`);
          }
        }
      }
      if (json('tc', [...nsArgs, '-j', 'qdisc', 'show', 'dev', ifname]).some((q) => q.kind === 'clsact')) {
        clsactAt.set(`${inode(file)}/${ifindex}`, `${label}: ${ifname}`);
      }
    } catch {
      // interface went away while we looked
    }
  }
}

if (existsSync(STATE_DIR)) {
  for (const f of readdirSync(STATE_DIR).filter((x) => x.endsWith('.json'))) {
    const state = JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8'));
    const alive = running(state.pid, state.startTime);
    if (!alive) found.push(`${join(STATE_DIR, f)}: state of weft process ${state.pid}, which is gone (cleanupStaleTc has not run since)`);
    for (const q of state.qdiscs ?? []) {
      const where = clsactAt.get(`${q.netnsIno}/${q.ifindex}`);
      if (where) found.push(`${where}: clsact qdisc created by weft process ${state.pid}${alive ? ' (still running)' : ''}`);
    }
  }
}

// Programs weft builds, by the name the kernel knows them by (at most 15 characters).
const ours = new Set();
const addonPath = join(root, 'build/Release/weft.node');
if (existsSync(addonPath)) {
  const addon = createRequire(import.meta.url)(addonPath);
  const objects = [];
  const visit = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(dir, e.name));
      else if (e.name.endsWith('.bpf.o')) objects.push(join(dir, e.name));
    }
  };
  visit(join(root, 'lib/bpf'));
  for (const path of objects) {
    try {
      const o = new addon.NativeObject(path);
      for (const p of o.programs()) ours.add(p.name.slice(0, 15));
      o.close();
    } catch {
      // not an object we can open: nothing of it can be attached either
    }
  }
}
const progs = new Map(json('bpftool', ['-j', 'prog', 'show']).map((p) => [p.id, p.name]));
for (const l of json('bpftool', ['-j', 'link', 'show'])) {
  const name = progs.get(l.prog_id);
  if ((l.type === BPF_LINK_TYPE_TCX || l.type === 'tcx') && ours.has(name)) {
    const holders = (l.pids ?? []).map((p) => `${p.comm}(${p.pid})`).join(', ');
    found.push(`tcx link ${l.id} running ${name}${holders ? ` held by ${holders}` : ''}`);
  }
}

if (found.length === 0) {
  console.log('no weft TC leftovers');
} else {
  console.log(`weft TC leftovers (${found.length}):`);
  for (const f of found) console.log(`  ${f}`);
  process.exit(1);
}
