import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCgroupPath, parseProcCgroup } from '../../src/collector/resolve/local/cgroup-path.js';
import { parseIpAddrJson, isLoopback, parseFibTrieLocal, parseIfInet6 } from '../../src/collector/resolve/local/addresses.js';
import { parseCmdline, ProcessTable } from '../../src/collector/resolve/local/processes.js';
import { BackgroundCache } from '../../src/collector/resolve/background-cache.js';
import { cgroup2Mount } from '../../src/collector/resolve/local/cgroups.js';

const ID = 'a3f1c2d4e5b6978812345678901234567890abcdefabcdefabcdef0123456789';
const UID = '5d1c9a3e-7f0b-4c2a-9e8d-1a2b3c4d5e6f';

describe('cgroup paths → container', () => {
  it.each([
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'containerd', podUid: UID }],
    [`/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/crio-${ID}.scope`, { id: ID, runtime: 'cri-o', podUid: UID }],
    [`/kubepods/burstable/pod${UID}/crio-${ID}`, { id: ID, runtime: 'cri-o', podUid: UID }],
    [`/kubepods/besteffort/pod${UID}/${ID}`, { id: ID, podUid: UID }],
    [`/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope`, { id: ID, runtime: 'containerd', podUid: UID }],
    [`/system.slice/docker-${ID}.scope`, { id: ID, runtime: 'docker' }],
    [`/docker/${ID}`, { id: ID, runtime: 'docker' }],
    [`/machine.slice/libpod-${ID}.scope/container`, { id: ID, runtime: 'podman' }],
    [`/system.slice/docker-${ID}.scope/init.scope`, { id: ID, runtime: 'docker' }],
  ])('%s', (path, want) => {
    expect(parseCgroupPath(path)).toEqual(want);
  });

  it('finds nothing in host cgroups, and does not take CRI-O\'s monitor for the container', () => {
    expect(parseCgroupPath('/user.slice/user-0.slice/session-3.scope')).toBeUndefined();
    expect(parseCgroupPath('/system.slice/containerd.service')).toBeUndefined();
    expect(parseCgroupPath('/')).toBeUndefined();
    expect(parseCgroupPath(`/kubepods.slice/crio-conmon-${ID}.scope`)).toBeUndefined();
    expect(parseCgroupPath(`/docker/${ID.slice(1)}`)).toBeUndefined();
  });

  it('reads /proc/PID/cgroup in v2 and v1 form', () => {
    expect(parseProcCgroup(`0::/system.slice/docker-${ID}.scope\n`)).toBe(`/system.slice/docker-${ID}.scope`);
    expect(parseProcCgroup('0::/user.slice/user-0.slice/session-3.scope\n')).toBe('/user.slice/user-0.slice/session-3.scope');
    const v1 = `12:pids:/docker/${ID}\n11:memory:/docker/${ID}\n1:name=systemd:/docker/${ID}\n`;
    expect(parseProcCgroup(v1)).toBe(`/docker/${ID}`);
    expect(parseProcCgroup('')).toBeUndefined();
  });
});

describe('cgroup v2 mount point', () => {
  it('finds it on unified and hybrid hosts, and not on v1-only ones', () => {
    const unified = '29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
    const hybrid = '31 23 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';
    const v1 = '34 31 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n';
    expect(cgroup2Mount(unified)).toBe('/sys/fs/cgroup');
    expect(cgroup2Mount(hybrid)).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Mount(v1)).toBeUndefined();
    expect(cgroup2Mount('50 1 0:40 / /mnt/my\\040cgroups rw - cgroup2 none rw\n')).toBe('/mnt/my cgroups');
  });
});

describe('host addresses and processes', () => {
  it('reads `ip -j addr` output and skips what is malformed', () => {
    const text = JSON.stringify([
      { ifindex: 1, ifname: 'lo', addr_info: [{ family: 'inet', local: '127.0.0.1' }, { family: 'inet6', local: '::1' }] },
      { ifindex: 2, ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.71.0.1', prefixlen: 24 }, { family: 'inet6', local: 'fd00:71::1' }] },
      { ifindex: 3, ifname: 'down0' },
      { ifname: 7, addr_info: [] },
    ]);
    expect(parseIpAddrJson(text)).toEqual([
      { ifname: 'lo', ip: '127.0.0.1' },
      { ifname: 'lo', ip: '::1' },
      { ifname: 'eth0', ip: '10.71.0.1' },
      { ifname: 'eth0', ip: 'fd00:71::1' },
    ]);
    expect(parseIpAddrJson('not json')).toEqual([]);
    expect(parseIpAddrJson('{}')).toEqual([]);
    expect(isLoopback('127.0.0.53')).toBe(true);
    expect(isLoopback('10.71.0.1')).toBe(false);
  });

  it('reads local IPv4 addresses from fib_trie and IPv6 ones from if_inet6', () => {
    const fib = [
      'Main:',
      '  +-- 0.0.0.0/0 3 0 5',
      '     +-- 10.71.0.0/24 2 0 2',
      '        |-- 10.71.0.0',
      '           /24 link UNICAST',
      '        |-- 10.71.0.1',
      '           /32 host LOCAL',
      '        |-- 10.71.0.255',
      '           /32 link BROADCAST',
      '     +-- 127.0.0.0/8 2 0 2',
      '        |-- 127.0.0.0',
      '           /8 host LOCAL',
      '        |-- 127.0.0.1',
      '           /32 host LOCAL',
      'Local:',
      '        |-- 10.71.0.1',
      '           /32 host LOCAL',
    ].join('\n');
    expect(parseFibTrieLocal(fib)).toEqual(['10.71.0.1', '127.0.0.1']);
    const v6 = 'fd000071000000000000000000000001 03 40 00 80     va1\n00000000000000000000000000000001 01 80 10 80       lo\nfe800000000000000000000000000001 03 40 20 80 va1\n';
    expect(parseIfInet6(v6)).toEqual(['fd00:71::1', '::1', 'fe80::1']);
    expect(parseIfInet6('garbage\n')).toEqual([]);
  });

  it('joins argv from /proc/PID/cmdline', () => {
    expect(parseCmdline('python3\0-m\0http.server\0')).toBe('python3 -m http.server');
    expect(parseCmdline('')).toBe('');
  });
});

describe('process table', () => {
  it('keeps the object it holds when a process read again is the same, and takes a changed one', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'weft-proc-'));
    try {
      mkdirSync(join(proc, '7'));
      const write = (command: string): void => {
        writeFileSync(join(proc, '7', 'comm'), 'app\n');
        writeFileSync(join(proc, '7', 'cmdline'), command.split(' ').join('\0'));
      };
      write('app --port 80');
      const table = new ProcessTable({ procDir: proc, ttlMs: 1 });
      const until = async (ok: (i: ReturnType<ProcessTable['get']>) => boolean): Promise<ReturnType<ProcessTable['get']>> => {
        for (let i = 0; i < 200; i++) {
          const info = table.get(7);
          if (ok(info)) return info;
          await new Promise((r) => setTimeout(r, 5));
        }
        throw new Error('process table: no answer');
      };
      const first = await until((i) => i !== undefined);
      expect(first).toEqual({ comm: 'app', command: 'app --port 80' });
      // Stale after 1 ms: each get reloads; an equal read keeps the object.
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 10));
        expect(table.get(7)).toBe(first);
      }
      write('app --port 81');
      const changed = await until((i) => i?.command === 'app --port 81');
      expect(changed).not.toBe(first);
      table.close();
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });
});

describe('background cache', () => {
  it('answers at once, loads in the background, remembers misses, and refreshes stale entries', async () => {
    let now = 0;
    const loads: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const c = new BackgroundCache<number, string>({
      load: async (k) => {
        loads.push(k);
        await gate;
        return k % 2 === 0 ? `v${k}:${now}` : undefined;
      },
      ttlMs: 100,
      missTtlMs: 50,
      now: () => now,
    });
    expect(c.get(2)).toBeUndefined();
    expect(c.get(2)).toBeUndefined(); // one load per key at a time
    expect(c.get(3)).toBeUndefined();
    expect(loads).toEqual([2, 3]);
    release();
    await c.idle();
    expect(c.get(2)).toBe('v2:0');
    expect(c.get(3)).toBeUndefined();
    expect(loads).toEqual([2, 3]);
    now = 60;
    c.get(3); // the miss expired: asked again
    expect(loads).toEqual([2, 3, 3]);
    now = 150;
    expect(c.get(2)).toBe('v2:0'); // stale value still served while it refreshes
    await c.idle();
    expect(c.get(2)).toBe('v2:150');
  });

  it('is bounded and a failing load counts as a miss', async () => {
    const c = new BackgroundCache<number, number>({ load: async (k) => (k === 5 ? Promise.reject(new Error('boom')) : k), ttlMs: 1000, maxEntries: 4 });
    for (let i = 0; i < 10; i++) c.get(i);
    await c.idle();
    expect(c.size).toBeLessThanOrEqual(4);
    expect(c.peek(5)).toBeUndefined();
    c.close();
  });
});
