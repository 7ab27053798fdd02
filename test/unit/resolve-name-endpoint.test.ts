import { describe, expect, it } from 'vitest';
import { nameEndpoint, type Lookups } from '../../src/collector/resolve/name-endpoint.js';
import { endpointId } from '../../src/protocol/endpoint-id.js';

const ID = 'a3f1c2d4e5b6978812345678901234567890abcdefabcdefabcdef0123456789';

function lookups(over: Partial<Lookups> = {}): Lookups {
  const netns = new Map([
    [4026531840, 'host'],
    [4026532500, 'web71'],
  ]);
  const owned = new Map([
    ['10.71.0.1', 4026532500],
    ['192.168.71.5', 4026531840],
  ]);
  return {
    hostname: 'box',
    hostNetns: 4026531840,
    netnsName: (i) => netns.get(i),
    netnsOfIp: (ip) => owned.get(ip),
    isLocal: (ip) => owned.has(ip) || ip.startsWith('127.'),
    process: (pid) => (pid === 42 ? { comm: 'webserver', command: '/usr/bin/webserver --port 80', cgroup: '/user.slice' } : undefined),
    cgroupPath: () => undefined,
    kube: () => undefined,
    dns: () => undefined,
    ...over,
  };
}

describe('naming an endpoint', () => {
  it('names a local process in a named netns, and groups by netns and process', () => {
    const e = nameEndpoint({ ip: '10.71.0.1', port: 80, netnsInode: 4026532500, pid: 42, comm: 'webserver' }, lookups());
    expect(e).toEqual({
      ip: '10.71.0.1',
      port: 80,
      netnsInode: 4026532500,
      netns: 'web71',
      pid: 42,
      process: 'webserver',
      command: '/usr/bin/webserver --port 80',
      node: 'box',
      kind: 'process',
      name: 'webserver',
    });
    expect(endpointId(e, 'netns')).toBe('netns:web71');
    expect(endpointId(e, 'process')).toBe('process:web71/webserver');
    expect(endpointId(e, 'node')).toBe('node:box');
  });

  it('fills the netns of an address from the host scan when the kernel did not say', () => {
    expect(nameEndpoint({ ip: '10.71.0.1' }, lookups())).toMatchObject({ netns: 'web71', kind: 'netns', name: 'web71', node: 'box' });
    expect(nameEndpoint({ ip: '192.168.71.5' }, lookups())).toMatchObject({ netns: 'host', kind: 'node', name: 'box' });
  });

  it('trusts the kernel comm at event time over a cached name', () => {
    expect(nameEndpoint({ ip: '10.71.0.1', pid: 42, comm: 'curl' }, lookups()).process).toBe('curl');
    expect(nameEndpoint({ ip: '10.71.0.1', pid: 42 }, lookups()).process).toBe('webserver');
  });

  it('an unknown namespace keeps its inode and is not guessed', () => {
    const e = nameEndpoint({ ip: '10.71.0.77', netnsInode: 4026599999 }, lookups());
    expect(e).toMatchObject({ netns: 'netns:[4026599999]', kind: 'unknown', node: 'box' });
    expect(e.name).toBeUndefined();
  });

  it('a remote address is external, named by DNS when an answer named it', () => {
    expect(nameEndpoint({ ip: '10.99.0.1' }, lookups())).toEqual({ ip: '10.99.0.1', kind: 'external' });
    expect(nameEndpoint({ ip: '10.99.0.1' }, lookups({ dns: () => 'db.example.test' }))).toEqual({ ip: '10.99.0.1', kind: 'external', name: 'db.example.test', dns: 'db.example.test' });
  });

  it('looks up IPv4-mapped IPv6 addresses as IPv4, keeping the address as reported', () => {
    expect(nameEndpoint({ ip: '::ffff:10.71.0.1' }, lookups())).toMatchObject({ ip: '::ffff:10.71.0.1', netns: 'web71', kind: 'netns' });
    expect(nameEndpoint({ ip: '::ffff:10.99.0.1' }, lookups({ dns: (ip) => (ip === '10.99.0.1' ? 'db.example.test' : undefined) })).name).toBe('db.example.test');
  });

  it('loopback without a namespace is unknown, not external', () => {
    expect(nameEndpoint({ ip: '127.0.0.1', port: 8080 }, lookups()).kind).toBe('unknown');
  });

  it('names containers from the cgroup id or the process cgroup', () => {
    const e = nameEndpoint({ ip: '10.71.0.1', pid: 42, comm: 'nginx', cgroupId: 9 }, lookups({ cgroupPath: (id) => (id === 9 ? `/system.slice/docker-${ID}.scope` : undefined) }));
    expect(e).toMatchObject({ container: ID.slice(0, 12), runtime: 'docker', kind: 'container', name: `nginx@${ID.slice(0, 12)}` });
  });

  it('a pod wins over everything local, with workload and namespace', () => {
    const e = nameEndpoint(
      { ip: '10.71.0.1', netnsInode: 4026532500, pid: 42 },
      lookups({ kube: () => ({ kind: 'pod', name: 'web-1', pod: 'web-1', namespace: 'shop', workload: 'web', workloadKind: 'Deployment', node: 'node-a' }) }),
    );
    expect(e).toMatchObject({ kind: 'pod', name: 'web-1', pod: 'web-1', namespace: 'shop', workload: 'web', workloadKind: 'Deployment', node: 'node-a', process: 'webserver' });
    expect(endpointId(e, 'workload')).toBe('workload:shop/Deployment/web');
    expect(endpointId(e, 'namespace')).toBe('namespace:shop');
  });

  it('a service VIP is a service', () => {
    expect(nameEndpoint({ ip: '10.71.96.1', port: 80 }, lookups({ kube: () => ({ kind: 'service', name: 'web', namespace: 'shop' }) }))).toEqual({
      ip: '10.71.96.1',
      port: 80,
      kind: 'service',
      name: 'web',
      namespace: 'shop',
    });
  });
});
