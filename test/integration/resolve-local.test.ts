// Named test hosts each running a named process: resolve() names the network namespace and the
// process on both ends of a real connection, from facts read off the real system (the socket's
// pid and addresses as `ss` reports them, the namespace inode from /proc/PID/ns/net).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, destroyHost, type Wire } from '../helpers/netns.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import type { Endpoint } from '../../src/protocol/index.js';
import { endpointId } from '../../src/protocol/endpoint-id.js';
import type { EndpointFacts } from '../../src/collector/resolve/types.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';

interface SocketFacts {
  local: string;
  localPort: number;
  peer: string;
  peerPort: number;
  pid: number;
}

/** Established TCP sockets in a namespace with their owning pid, as `ss -tnp` prints them. */
function sockets(w: Wire['a']): SocketFacts[] {
  return w
    .exec('ss', ['-Htnp', 'state', 'established'])
    .split('\n')
    .map((l) => /(\S+):(\d+)\s+(\S+):(\d+)\s+users:\(\("[^"]*",pid=(\d+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ local: m[1]!, localPort: Number(m[2]), peer: m[3]!, peerPort: Number(m[4]), pid: Number(m[5]) }));
}

const netnsInode = (pid: number) => statSync(`/proc/${pid}/ns/net`).ino;

/** resolve() until the background caches have caught up (bounded). */
async function settle(r: WeftResolver, f: EndpointFacts, done: (e: Endpoint) => boolean): Promise<Endpoint> {
  let e = r.resolve(f);
  for (let i = 0; i < 100 && !done(e); i++) {
    await new Promise((res) => setTimeout(res, 20));
    e = r.resolve(f);
  }
  return e;
}

describePrivileged('resolve: named namespaces and processes', () => {
  let w: Wire;
  let resolver: WeftResolver;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    w = createWire(71);
    const server = await startNamed(w.b, 'weftsrv71', TCP_SERVER(w.bIp, 7171));
    children.push(server.child);
    for (const title of ['weftcli71', 'weftcli71']) children.push((await startNamed(w.a, title, TCP_CLIENT(w.bIp, 7171))).child);
    // A connection the server has not accepted yet has no owner for ss to show: wait (bounded).
    for (let i = 0; i < 200 && sockets(w.b).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    resolver = createResolver({ kubernetes: false, nat: false, hostname: 'testnode71', log: () => {} });
    await resolver.ready();
  });

  afterAll(async () => {
    resolver?.close();
    for (const c of children) await stop(c);
    destroyAll();
  });

  it('names both ends of real connections: netns name and process name', async () => {
    const clientSockets = sockets(w.a);
    const serverSockets = sockets(w.b);
    expect(clientSockets).toHaveLength(2);
    expect(serverSockets).toHaveLength(2);
    for (const c of clientSockets) {
      const client = await settle(resolver, { ip: c.local, pid: c.pid, netnsInode: netnsInode(c.pid) }, (e) => e.process !== undefined);
      expect(client).toMatchObject({ ip: w.aIp, netns: w.a.ns, pid: c.pid, process: 'weftcli71', kind: 'process', name: 'weftcli71', node: 'testnode71' });
      // process.title rewrites argv in place, so the command line shows the title too.
      expect(client.command).toContain('weftcli71');

      const s = serverSockets.find((x) => x.peerPort === c.localPort)!;
      const server = await settle(resolver, { ip: s.local, port: s.localPort, pid: s.pid, netnsInode: netnsInode(s.pid) }, (e) => e.process !== undefined);
      expect(server).toMatchObject({ ip: w.bIp, port: 7171, netns: w.b.ns, process: 'weftsrv71', kind: 'process', name: 'weftsrv71' });
    }
  });

  it('the comm the kernel reports wins over /proc when both are given', async () => {
    const c = sockets(w.a)[0]!;
    expect(resolver.resolve({ ip: c.local, pid: c.pid, comm: 'renamed71', netnsInode: netnsInode(c.pid) }).process).toBe('renamed71');
  });

  it('an address alone finds its namespace from the host scan; by netns each namespace is one node', () => {
    const [c1, c2] = sockets(w.a);
    const ends = [
      resolver.resolve({ ip: c1!.local, pid: c1!.pid, netnsInode: netnsInode(c1!.pid) }),
      resolver.resolve({ ip: c2!.local, pid: c2!.pid, netnsInode: netnsInode(c2!.pid) }),
      resolver.resolve({ ip: w.aIp }),
    ];
    const bare = resolver.resolve({ ip: w.bIp, port: 7171 });
    expect(bare).toMatchObject({ netns: w.b.ns, netnsInode: statSync(w.b.path).ino, kind: 'netns', name: w.b.ns, node: 'testnode71' });
    expect(resolver.resolve({ ip: w.bIp6 })).toMatchObject({ netns: w.b.ns });
    expect(new Set(ends.map((e) => endpointId(e, 'netns')))).toEqual(new Set([`netns:${w.a.ns}`]));
    expect(endpointId(bare, 'netns')).toBe(`netns:${w.b.ns}`);
    // By process, the two clients are one node too (same netns, same name).
    expect(new Set(ends.slice(0, 2).map((e) => endpointId(e, 'process')))).toEqual(new Set([`process:${w.a.ns}/weftcli71`]));
  });

  it('the host\'s own namespace is "host", and an end in it with no process is the node', () => {
    const inode = statSync('/proc/2/ns/net').ino; // kthreadd: always in the initial namespace
    expect(resolver.resolve({ ip: '127.0.0.1', netnsInode: inode })).toMatchObject({ netns: 'host', kind: 'node', name: 'testnode71', node: 'testnode71' });
  });

  it('an address of no namespace here is external; a namespace not yet scanned is unknown until the next scan', async () => {
    expect(resolver.resolve({ ip: '10.79.255.1' })).toEqual({ ip: '10.79.255.1', kind: 'external' });
    const late = createWire(72);
    try {
      const inode = statSync(late.a.path).ino;
      const first = resolver.resolve({ ip: late.aIp, netnsInode: inode });
      expect(first).toMatchObject({ netns: `netns:[${inode}]`, kind: 'unknown' });
      // The miss itself asked for a scan: the name shows on a later call without waiting a full period.
      const named = await settle(resolver, { ip: late.aIp, netnsInode: inode }, (e) => e.kind === 'netns');
      expect(named).toMatchObject({ netns: late.a.ns, kind: 'netns' });
    } finally {
      destroyHost(late.a);
      destroyHost(late.b);
    }
  });
});
