// cgroup → container on the real cgroup v2 tree: a cgroup laid out as Docker's systemd driver does
// (docker-<id>.scope) with a real process moved into it is named from its cgroup id (the inode
// BPF's bpf_get_current_cgroup_id reports) and from the process's /proc/PID/cgroup.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describePrivileged } from '../helpers/privileged.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { cgroup2Mount } from '../../src/collector/resolve/local/cgroups.js';
import type { Endpoint } from '../../src/protocol/index.js';
import type { EndpointFacts } from '../../src/collector/resolve/types.js';
import { stop } from './resolve-fixtures/named-process.js';

async function settle(r: WeftResolver, f: EndpointFacts, done: (e: Endpoint) => boolean): Promise<Endpoint> {
  let e = r.resolve(f);
  for (let i = 0; i < 150 && !done(e); i++) {
    await new Promise((res) => setTimeout(res, 20));
    e = r.resolve(f);
  }
  return e;
}

describePrivileged('resolve: containers from cgroups', () => {
  const root = cgroup2Mount(readFileSync('/proc/self/mountinfo', 'utf8'));
  const id = randomBytes(32).toString('hex');
  const slice = `${root}/weft71-${process.pid}.slice`;
  const scope = `${slice}/docker-${id}.scope`;
  let child: ChildProcess | undefined;
  let resolver: WeftResolver;

  beforeAll(async () => {
    if (!root) throw new Error('no cgroup2 file system mounted');
    mkdirSync(scope, { recursive: true });
    child = spawn(process.execPath, ['-e', 'process.title = "weftctr71"; console.log("ready"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await once(child.stdout!, 'data');
    writeFileSync(`${scope}/cgroup.procs`, String(child.pid));
    resolver = createResolver({ kubernetes: false, nat: false, log: () => {} });
    await resolver.ready();
  });

  afterAll(async () => {
    resolver?.close();
    await stop(child);
    // The cgroup can only go once it is empty.
    for (let i = 0; i < 50 && existsSync(scope); i++) {
      try {
        rmdirSync(scope);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    if (existsSync(slice)) rmdirSync(slice);
  });

  it('names the container from the cgroup id and from the process', async () => {
    const cgroupId = statSync(scope).ino;
    const byId = await settle(resolver, { ip: '127.0.0.1', cgroupId }, (e) => e.container !== undefined);
    expect(byId).toMatchObject({ container: id.slice(0, 12), runtime: 'docker', kind: 'container', name: id.slice(0, 12) });

    expect(readFileSync(`/proc/${child!.pid}/cgroup`, 'utf8')).toContain(`docker-${id}.scope`);
    const byPid = await settle(resolver, { ip: '127.0.0.1', pid: child!.pid }, (e) => e.container !== undefined);
    expect(byPid).toMatchObject({ container: id.slice(0, 12), runtime: 'docker', process: 'weftctr71', kind: 'container', name: `weftctr71@${id.slice(0, 12)}` });

    // A process outside any container has none.
    const self = await settle(resolver, { ip: '127.0.0.1', pid: process.pid }, (e) => e.process !== undefined);
    expect(self.container).toBeUndefined();
    expect(self.kind).toBe('process');
  });
});
