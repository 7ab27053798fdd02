// The resolver with `isolate`: DNS answers and Kubernetes API responses are parsed by a real child
// process started through setpriv as nobody, and only checked facts reach this (root) process.
// The service account lives in a directory nobody cannot read, so the token and CA can only have
// come from the parent; a rotated token reaches the API server. dns.bpf.c runs on crafted frames
// (BPF_PROG_TEST_RUN) and its ring buffer stays here. The child holds no capability in any thread;
// killed, it is started again, the names it gave stand meanwhile, and the new one's first list
// replaces them (a pod deleted while it was down is gone).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openObject, type KernelObject } from '../../src/collector/kernel/index.js';
import { noCapabilities, processPrivileges } from '../../src/collector/privsep/process-status.js';
import { expectUnprivileged, openFiles } from '../helpers/unprivileged.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { describePrivileged } from '../helpers/privileged.js';
import { decodeQuery, encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';
import { frame } from './resolve-fixtures/dns-frame.js';
import { KubeApiServer } from './resolve-fixtures/kube-api-server.js';
import { inClusterApiServer } from './resolve-fixtures/in-cluster.js';
import { pod } from './resolve-fixtures/kube-objects.js';

const OBJECT = join(import.meta.dirname, '../../lib/bpf/dns.bpf.o');
const PODS = '/api/v1/pods';
const NOBODY = { uid: 65534, gid: 65534 };

async function until<T>(what: string, fn: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function answer(name: string, ip: string): Buffer {
  return frame({ payload: encodeResponse({ question: { name, type: 'A' }, answers: [{ name, type: 'A', ttl: 60, data: ip }] }) });
}

describePrivileged('resolve: network input parsed by an unprivileged resolver process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-isolated-'));
  const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
  const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
  const logs: string[] = [];
  let api: KubeApiServer;
  let obj: KernelObject;
  let resolver: WeftResolver;
  let ptr: Socket;

  beforeAll(async () => {
    // Reverse lookups go to this server on loopback, and nowhere else.
    ptr = createSocket('udp4');
    ptr.on('message', (msg, rinfo) => {
      const q = decodeQuery(msg);
      if (q?.name !== '9.5.79.10.in-addr.arpa') return;
      ptr.send(encodeResponse({ id: q.id, question: { name: q.name, type: 'PTR' }, answers: [{ name: q.name, type: 'PTR', ttl: 300, data: 'gw.weft.test' }] }), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => ptr.bind(0, '127.0.0.1', r));
    let url: URL;
    ({ api, url } = await inClusterApiServer(dir, sa, 'sa-token-79'));
    api.apply(PODS, 'ADDED', pod('agent-x9', '10.79.2.1', { kind: 'DaemonSet', name: 'agent' }));
    api.apply(PODS, 'ADDED', pod('db-0', '10.79.2.2', { kind: 'StatefulSet', name: 'db' }));
    process.env.KUBERNETES_SERVICE_HOST = url.hostname;
    process.env.KUBERNETES_SERVICE_PORT = url.port;
    obj = openObject(OBJECT);
    resolver = createResolver({
      kubernetes: { serviceAccountRoot: dir, requestTimeoutMs: 3000, retryMinMs: 100 },
      dns: { object: obj, reverse: { servers: [`127.0.0.1:${(ptr.address() as AddressInfo).port}`], timeoutMs: 300 } },
      nat: false,
      isolate: { user: NOBODY, tokenCheckMs: 200 },
      log: (l) => logs.push(l),
    });
    await resolver.isolated!.ready();
  });

  afterAll(async () => {
    await resolver?.isolated?.close();
    resolver?.close();
    await api?.close();
    ptr?.close();
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as nobody with no capability in any set of any thread, empty bounding set, no_new_privs, and no BPF file descriptor', () => {
    const pid = resolver.isolated!.pid()!;
    expect(pid).not.toBe(process.pid);
    // The service account is closed to that user: what the child knows of it came from the parent.
    expect(() => execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', join(sa, 'token')], { stdio: 'ignore' })).toThrow();
    expectUnprivileged(pid);
    // It holds none of the parent's BPF objects (maps, programs, the ring buffer, TC links).
    expect(openFiles(pid).filter((l) => l.includes('bpf'))).toEqual([]);
    expect(openFiles(process.pid).some((l) => l.includes('bpf-map'))).toBe(true);
    // What it parses, and as whom, is told once it runs.
    expect(logs.join('\n')).toMatch(new RegExp(`resolver process ${pid} parses DNS answers, Kubernetes API responses and reverse DNS, as uid 65534 gid 65534, no capabilities, empty bounding set, no_new_privs on`));
    expect(logs).toContain('kubernetes: using in-cluster service account, watched from the resolver process');
  });

  it('names pods from the API server (token and CA read by the parent) and addresses from DNS answers off the ring buffer', async () => {
    const agent = await until('agent pod', () => (resolver.resolve({ ip: '10.79.2.1' }).kind === 'pod' ? resolver.resolve({ ip: '10.79.2.1' }) : undefined));
    expect(agent).toEqual({ ip: '10.79.2.1', kind: 'pod', name: 'agent-x9', pod: 'agent-x9', namespace: 'shop', workload: 'agent', workloadKind: 'DaemonSet', node: 'node-74' });
    expect(new Set(api.authorizations)).toEqual(new Set(['Bearer sa-token-79']));
    // This process has no Kubernetes client of its own: the facts came from the child.
    expect(resolver.kube).toBeUndefined();
    expect(resolver.isolated!.health().kubeAddresses).toBe(2);

    expect(obj.testRun('dns_answers', { data: answer('api.weft.test', '10.79.5.5') }).retval).toBe(0xffffffff);
    const named = await until('DNS name', () => resolver.resolve({ ip: '10.79.5.5' }).dns);
    expect(named).toBe('api.weft.test');
    expect(resolver.resolve({ ip: '10.79.5.5' })).toMatchObject({ kind: 'external', name: 'api.weft.test' });
    // A malformed answer is counted by the child and reported here.
    const bad = Buffer.alloc(40, 0xab);
    bad.writeUInt16BE(0x8180, 2);
    obj.testRun('dns_answers', { data: frame({ payload: bad }) });
    await until('malformed count', () => (resolver.dnsSniffer!.stats.malformed === 1 ? true : undefined));
    expect(resolver.dnsSniffer!.stats).toMatchObject({ answers: 1, names: 1, malformed: 1, lost: 0 });
  });

  it('sends a rotated service account token on to the child', async () => {
    writeFileSync(join(sa, 'token'), 'sa-token-79b');
    // The parent reads the token every 200 ms and hands it to the child; the next request the
    // informers make (a list after 410 Gone) carries it. Nothing says when the child has it, so the
    // watch is ended again each second until a request shows it (bounded).
    const rotated = (): true | undefined => (api.authorizations.includes('Bearer sa-token-79b') ? true : undefined);
    for (let tries = 0; tries < 20 && !rotated(); tries++) {
      api.expire(PODS);
      await until('a request with the new token', rotated, 1000).catch(() => undefined);
    }
    expect(rotated()).toBe(true);
  });

  it('is started again when killed: names stand meanwhile, and the new child`s first list (with the rotated token) replaces them', async () => {
    const first = resolver.isolated!.pid()!;
    const asked = api.authorizations.length;
    process.kill(first, 'SIGKILL');
    await until('the child seen gone', () => (resolver.isolated!.pid() !== first ? true : undefined));
    // Down: what the last child said still names the pods; DNS answers are dropped and counted, nothing waits.
    expect(resolver.resolve({ ip: '10.79.2.2' })).toMatchObject({ kind: 'pod', name: 'db-0' });
    api.apply(PODS, 'DELETED', pod('db-0', '10.79.2.2', { kind: 'StatefulSet', name: 'db' }));
    const second = await until('a new child', () => resolver.isolated!.pid());
    expect(second).not.toBe(first);
    await resolver.isolated!.ready();
    expect(logs.join('\n')).toMatch(new RegExp(`resolver process ${first} ended \\(SIGKILL\\); names from DNS and Kubernetes keep their last values; starting a new one in 500 ms`));
    expect(processPrivileges(second).uids).toEqual([65534, 65534, 65534, 65534]);
    expect(noCapabilities(processPrivileges(second).capEff)).toBe(true);

    await until('db-0 gone after the new list', () => (resolver.resolve({ ip: '10.79.2.2' }).kind !== 'pod' ? true : undefined));
    expect(resolver.resolve({ ip: '10.79.2.1' })).toMatchObject({ kind: 'pod', name: 'agent-x9' });
    // The new child started with the token as rotated, not the one read at start.
    expect(new Set(api.authorizations.slice(asked))).toEqual(new Set(['Bearer sa-token-79b']));
    obj.testRun('dns_answers', { data: answer('db.weft.test', '10.79.5.6') });
    expect(await until('DNS name through the new child', () => resolver.resolve({ ip: '10.79.5.6' }).dns)).toBe('db.weft.test');
    expect(resolver.isolated!.health()).toMatchObject({ pid: second, starts: 2, rejected: 0 });
  });

  it('answers reverse lookups through the child', async () => {
    expect(await resolver.reverse('10.79.5.9')).toBe('gw.weft.test');
    expect(resolver.resolve({ ip: '10.79.5.9' })).toMatchObject({ kind: 'external', name: 'gw.weft.test' });
    // No answer within the timeout: nothing, in time.
    expect(await resolver.reverse('10.79.5.8')).toBeUndefined();
  });
});

describePrivileged('resolve: a resolver process that sends hostile lines', () => {
  const logs: string[] = [];
  let resolver: WeftResolver;

  beforeAll(async () => {
    resolver = createResolver({ kubernetes: false, nat: false, isolate: { user: NOBODY, module: join(import.meta.dirname, 'resolve-fixtures/hostile-resolver.ts') }, log: (l) => logs.push(l) });
    await resolver.isolated!.ready();
  });

  afterAll(async () => {
    await resolver?.isolated?.close();
    resolver?.close();
  });

  it('refuses every bad line with a logged reason, takes the good ones, and keeps answering', async () => {
    const isolated = resolver.isolated!;
    const pid = isolated.pid()!;
    await until('the good fact after the bad ones', () => isolated.kube('10.79.9.9'));
    await until('all refusals', () => (isolated.health().rejected >= 14 ? true : undefined));
    const refused = logs.filter((l) => l.startsWith(`resolver process ${pid} sent a bad message`)).map((l) => /\((.*)\); ignored$/.exec(l)![1]);
    expect(refused.slice(0, 11)).toEqual([
      'not JSON',
      'no message type',
      'names is not an array',
      'unknown message type "exec"',
      'set[0][0] is not an IP address',
      'set[0][1].name is not valid',
      'set[0][1].kind is not pod, service or node',
      'set has 2001 entries (at most 2000)',
      `names[0].ttl is not a whole number from 0 to ${2 ** 31 - 1}`,
      'names[0].name is not valid',
      'dns message has an unknown field "__proto__"',
    ]);
    // 200,000 nested arrays, then a line of 2 MiB.
    expect(refused[11]).toMatch(/^(no message type|unreadable \(RangeError\))$/);
    expect(refused[12]).toMatch(/^a line of more than \d+ bytes \(at most 1048576\)$/);
    // Well formed, but nothing was asked.
    expect(refused[13]).toBe('a DNS answer nobody asked for');
    expect(isolated.health()).toMatchObject({ pid, starts: 1, rejected: 14 });
    expect(logs).toContain('resolver process: still here');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Nothing refused was used; the good fact was, and a set that never completed replaced nothing.
    expect(resolver.resolve({ ip: '10.79.9.1' }).kind).toBe('external');
    expect(resolver.resolve({ ip: '10.79.0.1' }).kind).toBe('external');
    expect(resolver.resolve({ ip: '10.79.9.2' }).dns).toBeUndefined();
    expect(resolver.resolve({ ip: '10.79.9.9' })).toMatchObject({ kind: 'pod', name: 'good-0', namespace: 'shop' });
    // The channel still works both ways.
    isolated.dns.take([Buffer.alloc(20)]);
    expect(await until('a good DNS fact', () => resolver.resolve({ ip: '10.79.9.3' }).dns)).toBe('ok.weft.test');
    await until('the answer too many refused', () => (isolated.health().rejected === 15 ? true : undefined));
    expect(resolver.resolve({ ip: '10.79.9.5' }).dns).toBeUndefined();
  });

  it('replaces a process that keeps sending bad lines, and keeps the facts it had', async () => {
    const isolated = resolver.isolated!;
    const first = isolated.pid()!;
    // The hostile child floods on a reverse request; the lookup answers nothing when it is killed.
    expect(await isolated.reverse('10.79.9.4')).toBeUndefined();
    await until('a new process', () => (isolated.pid() !== undefined && isolated.pid() !== first ? true : undefined));
    expect(logs).toContain(`resolver process ${first}: more than 20 bad messages within a minute; replacing it`);
    expect(logs.some((l) => l.startsWith(`resolver process ${first} ended (SIGKILL)`))).toBe(true);
    expect(isolated.health().starts).toBe(2);
    expect(resolver.resolve({ ip: '10.79.9.9' })).toMatchObject({ kind: 'pod', name: 'good-0' });
  });
});
