// deploy/Dockerfile, .dockerignore, the DaemonSet and the systemd unit agree with each other and
// with the collector, read from the files alone. scripts/check-image.sh (`npm run check:image`)
// builds and runs the image; this catches drift between them in milliseconds.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { collectorCommand } from '../../src/collector/config.js';
import { TC_STATE_DIR } from '../../src/collector/kernel/tc-state.js';

interface Instruction {
  op: string;
  args: string;
}

/** Stages of a Dockerfile, each its instructions with continuation lines joined. */
function dockerfileStages(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const joined = text.replace(/\\\n/g, ' ');
  for (const line of joined.split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    const ins = { op: m[1]!, args: m[2]!.trim() };
    if (ins.op === 'FROM') stages.push([]);
    stages.at(-1)?.push(ins);
  }
  return stages;
}

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; bin: Record<string, string> };
const stages = dockerfileStages(readFileSync('deploy/Dockerfile', 'utf8'));
const runtime = stages.at(-1)!;
const last = (op: string): string | undefined => runtime.filter((i) => i.op === op).at(-1)?.args;
const runtimeEnv = Object.fromEntries(runtime.filter((i) => i.op === 'ENV').map((i) => [i.args.slice(0, i.args.indexOf('=')), i.args.slice(i.args.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
/** Node's heap flags and glibc's arenas, measured by `npm run bench -- privsep` (docs/collector.md, Memory). */
const MEMORY = { NODE_OPTIONS: '--max-old-space-size=384 --max-semi-space-size=4', MALLOC_ARENA_MAX: '2' };
const copied = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
const docs = loadAllYaml(readFileSync('deploy/kubernetes/daemonset.yaml', 'utf8')) as { kind: string; spec?: any }[];
const pod = docs.find((d) => d.kind === 'DaemonSet')!.spec.template.spec;
const container = pod.containers[0];

describe('deploy/Dockerfile and the DaemonSet', () => {
  it('parses the Dockerfile into a build stage and a runtime stage on the same BASE', () => {
    expect(stages.map((s) => s[0]!.args)).toEqual(['${BASE} AS build', '${BASE}']);
    expect(readFileSync('deploy/Dockerfile', 'utf8')).toMatch(/^ARG BASE=debian:bookworm-slim$/m);
  });

  it('runs weft-collector as root: the DaemonSet uses the ENTRYPOINT as it is and the same user', () => {
    expect(JSON.parse(last('ENTRYPOINT')!)).toEqual(['weft-collector']);
    expect(last('USER')).toBe('0:0');
    expect(container.command).toBeUndefined();
    expect(container.securityContext.runAsUser).toBe(0);
    expect(container.image).toBe(`weft-collector:${pkg.version}`);
    // The Dockerfile's own build hint names the same tag.
    expect(readFileSync('deploy/Dockerfile', 'utf8')).toContain(`-t ${container.image} .`);
  });

  it('links the commands to the package.json bin files it copies in', () => {
    const runs = runtime.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    for (const [name, file] of Object.entries(pkg.bin)) {
      expect(runs).toContain(`ln -s /opt/weft/${file} /usr/local/bin/${name}`);
      expect(copied.some((c) => c.endsWith(`/opt/weft/${dirname(file)}`))).toBe(true);
    }
  });

  it('copies every addon binding.gyp builds', () => {
    const targets = (JSON.parse(readFileSync('binding.gyp', 'utf8')) as { targets: { target_name: string }[] }).targets.map((t) => `/src/build/Release/${t.target_name}.node`);
    const addons = copied.find((c) => c.endsWith('/opt/weft/build/Release/'))!.split(/\s+/).slice(1, -1);
    expect(targets.length).toBeGreaterThan(1);
    expect(addons.sort()).toEqual(targets.sort());
  });

  it('copies the object of every bpf/*.bpf.c into lib/bpf', () => {
    const objects = copied.find((c) => c.endsWith('/opt/weft/lib/bpf/'))!.split(/\s+/).slice(1, -1);
    const sources = readdirSync('bpf').filter((f) => f.endsWith('.bpf.c'));
    expect(sources.length).toBeGreaterThan(0);
    expect(objects.sort()).toEqual(sources.map((f) => `/src/lib/bpf/${f.replace(/\.c$/, '.o')}`).sort());
  });

  it('passes only flags and WEFT_* variables the collector knows, and the image memory settings', () => {
    const options = collectorCommand().options;
    const flags = new Set(options.map((o) => o.long));
    const envs = new Set(options.map((o) => o.envVar));
    for (const arg of container.args as string[]) expect(flags, arg).toContain(arg.split('=')[0]);
    const env = container.env as { name: string; value: string }[];
    for (const { name, value } of env) {
      if (name in MEMORY) expect(value, name).toBe(runtimeEnv[name]);
      else expect(envs, name).toContain(name);
    }
    expect(env.filter((e) => e.name in MEMORY).map((e) => e.name).sort()).toEqual(Object.keys(MEMORY).sort());
    expect({ NODE_OPTIONS: runtimeEnv.NODE_OPTIONS, MALLOC_ARENA_MAX: runtimeEnv.MALLOC_ARENA_MAX }).toEqual(MEMORY);
  });

  it('runs the systemd unit and `npm start` with the same memory settings as the image', () => {
    const unit = readFileSync('deploy/weft.service', 'utf8');
    // systemd wants a value with spaces quoted whole.
    for (const [name, value] of Object.entries(MEMORY)) expect(unit).toContain(value.includes(' ') ? `\nEnvironment="${name}=${value}"\n` : `\nEnvironment=${name}=${value}\n`);
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    expect(start).toContain(`MALLOC_ARENA_MAX=${MEMORY.MALLOC_ARENA_MAX} node ${MEMORY.NODE_OPTIONS} lib/collector/cli.js`);
  });

  it('mounts the host paths the collector reads and writes', () => {
    const hostPaths = Object.fromEntries((pod.volumes as any[]).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath.path]));
    const mounts = Object.fromEntries((container.volumeMounts as any[]).filter((m) => hostPaths[m.name]).map((m) => [m.mountPath, { host: hostPaths[m.name], readOnly: m.readOnly === true }]));
    // TC state outlives a crashed container only on the host; the root filesystem is read-only.
    expect(mounts[dirname(TC_STATE_DIR)]).toEqual({ host: dirname(TC_STATE_DIR), readOnly: false });
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(mounts['/sys/kernel/tracing']).toEqual({ host: '/sys/kernel/tracing', readOnly: false });
    expect(mounts['/run/netns']).toEqual({ host: '/run/netns', readOnly: true });
    expect(pod.hostPID).toBe(true);
  });

  it('grants the same capabilities as the systemd unit', () => {
    const unit = /^CapabilityBoundingSet=(.*)$/m.exec(readFileSync('deploy/weft.service', 'utf8'))![1]!.split(' ');
    expect(container.securityContext.capabilities.add).toEqual(unit.map((c) => c.replace(/^CAP_/, '')));
  });
});

describe('.dockerignore', () => {
  const lines = readFileSync('.dockerignore', 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const included = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const isIncluded = (path: string): boolean => included.some((p) => path === p || path.startsWith(`${p}/`));

  it("sends nothing by default, so this machine's node_modules, lib/ and build/ never reach the image", () => {
    expect(lines[0]).toBe('*');
    for (const p of ['node_modules', 'lib', 'build', 'dist', 'test']) expect(isIncluded(p), p).toBe(false);
  });

  it('sends every source the build stage compiles', () => {
    const gyp = JSON.parse(readFileSync('binding.gyp', 'utf8')) as { targets: { sources: string[] }[] };
    const tsc = JSON.parse(readFileSync('tsconfig.build.json', 'utf8')) as { include: string[] };
    const needed = ['package.json', 'package-lock.json', 'binding.gyp', 'tsconfig.json', 'tsconfig.build.json', 'scripts/ensure.mjs', 'bpf/Makefile', ...gyp.targets[0]!.sources, ...tsc.include];
    for (const p of needed) expect(isIncluded(p), p).toBe(true);
  });
});
