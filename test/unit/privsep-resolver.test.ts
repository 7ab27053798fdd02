// The pure parts of the resolver process's channel: the parent's check of each line (fuzzed: it
// never throws, and what it accepts has exactly the declared shape), the bounded line splitter,
// the Kubernetes facts a new child replaces only once complete, and the kubeconfig whose files the
// parent reads for the child.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseFromResolver } from '../../src/collector/privsep/resolver-facts.js';
import { KubeFacts } from '../../src/collector/privsep/resolver-kube-facts.js';
import { portableKubeConfig } from '../../src/collector/privsep/resolver-kube-config.js';
import { inClusterConfig } from '../../src/collector/resolve/kubernetes/kube-config.js';
import { LineReader } from '../../src/collector/privsep/resolver-lines.js';
import type { FromResolver } from '../../src/collector/privsep/resolver-messages.js';

const pod = { kind: 'pod', name: 'web-1', namespace: 'shop', pod: 'web-1', workload: 'web', workloadKind: 'Deployment', node: 'n1' };
const ok = (m: unknown): FromResolver => {
  const r = parseFromResolver(JSON.stringify(m));
  if (r.error !== undefined) throw new Error(r.error);
  return r.message;
};
const err = (line: string): string | undefined => parseFromResolver(line).error;

describe('lines from the resolver process', () => {
  it('accepts each message type with exactly its fields', () => {
    expect(ok({ type: 'ready' })).toEqual({ type: 'ready' });
    expect(ok({ type: 'dns', names: [{ ip: '10.0.0.1', name: 'a.test', ttl: 30 }, { ip: 'fd00::1', name: 'xn--bcher-kva.test', ttl: 0 }], answers: 2, malformed: 1, lastError: 'truncated at byte 12' })).toEqual({
      type: 'dns',
      names: [
        { ip: '10.0.0.1', name: 'a.test', ttl: 30 },
        { ip: 'fd00::1', name: 'xn--bcher-kva.test', ttl: 0 },
      ],
      answers: 2,
      malformed: 1,
      lastError: 'truncated at byte 12',
    });
    expect(ok({ type: 'kube', reset: true, last: false, set: [['10.0.0.2', pod], ['10.0.0.3', { kind: 'node', name: 'n1', node: 'n1' }]], remove: ['10.0.0.4'] })).toEqual({
      type: 'kube',
      reset: true,
      last: false,
      set: [['10.0.0.2', pod], ['10.0.0.3', { kind: 'node', name: 'n1', node: 'n1' }]],
      remove: ['10.0.0.4'],
    });
    expect(ok({ type: 'reverse', id: 7 })).toEqual({ type: 'reverse', id: 7 });
    expect(ok({ type: 'reverse', id: 7, name: 'gw.test' })).toEqual({ type: 'reverse', id: 7, name: 'gw.test' });
    expect(ok({ type: 'log', line: 'kubernetes: pods: ECONNREFUSED; retrying' })).toEqual({ type: 'log', line: 'kubernetes: pods: ECONNREFUSED; retrying' });
  });

  it('refuses wrong types, lengths, syntax, unknown fields and counts past the bounds, saying which', () => {
    expect(err('{')).toBe('not JSON');
    expect(err('null')).toBe('no message type');
    expect(err('{"type":"ready","extra":1}')).toBe('ready message has an unknown field "extra"');
    expect(err(JSON.stringify({ type: 'dns', names: [{ ip: '10.0.0.1', name: 'a.test', ttl: 1.5 }], answers: 1, malformed: 0 }))).toMatch(/names\[0\]\.ttl/);
    expect(err(JSON.stringify({ type: 'dns', names: [{ ip: '10.0.0.1', name: 'x'.repeat(256), ttl: 1 }], answers: 1, malformed: 0 }))).toBe('names[0].name is not valid');
    expect(err(JSON.stringify({ type: 'dns', names: [{ ip: '10.0.0.1', name: 'caf\u00e9.test', ttl: 1 }], answers: 1, malformed: 0 }))).toBe('names[0].name is not valid');
    expect(err(JSON.stringify({ type: 'dns', names: [], answers: 257, malformed: 0 }))).toBe('answers is not a whole number from 0 to 256');
    expect(err(JSON.stringify({ type: 'dns', names: [], answers: 0, malformed: 0, lastError: 'x\u0000' }))).toBe('lastError is not valid');
    expect(err(JSON.stringify({ type: 'dns', names: Array.from({ length: 8193 }, () => ({ ip: '10.0.0.1', name: 'a', ttl: 1 })), answers: 0, malformed: 0 }))).toBe('names has 8193 entries (at most 8192)');
    expect(err(JSON.stringify({ type: 'kube', reset: 'yes', last: true, set: [], remove: [] }))).toBe('reset is not true or false');
    expect(err(JSON.stringify({ type: 'kube', reset: false, last: true, set: [['10.0.0.1', pod, 'x']], remove: [] }))).toBe('set[0] has 3 entries (at most 2)');
    expect(err(JSON.stringify({ type: 'kube', reset: false, last: true, set: [['10.0.0.1', { ...pod, namespace: 'Shop' }]], remove: [] }))).toBe('set[0][1].namespace is not valid');
    expect(err(JSON.stringify({ type: 'kube', reset: false, last: true, set: [['10.0.0.1', { ...pod, owner: 'x' }]], remove: [] }))).toBe('set[0][1] has an unknown field "owner"');
    expect(err(JSON.stringify({ type: 'kube', reset: false, last: true, set: [], remove: ['10.0.0.1.5'] }))).toBe('remove[0] is not an IP address');
    expect(err(JSON.stringify({ type: 'kube', reset: false, last: true, set: Array.from({ length: 1500 }, () => ['10.0.0.1', pod]), remove: Array.from({ length: 501 }, () => '10.0.0.2') }))).toBe('remove has 501 entries (at most 500)');
    expect(err(JSON.stringify({ type: 'reverse', id: -1 }))).toMatch(/^id is not a whole number/);
    expect(err(JSON.stringify({ type: 'log', line: 'x'.repeat(501) }))).toBe('line is not valid');
    expect(err(JSON.stringify({ type: 'log', line: 'colour \u001b[31mred' }))).toBe('line is not valid');
    expect(err('{"type":"log","line":"x","__proto__":{"admin":true}}')).toBe('log message has an unknown field "__proto__"');
    expect(err(JSON.stringify({ type: 'x'.repeat(1000) }))).toBe(`unknown message type "${'x'.repeat(40)}"`);
  });

  it('never throws, on random bytes and on mutations of good lines', () => {
    let seed = 79;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const good = [JSON.stringify({ type: 'kube', reset: false, last: true, set: [['10.0.0.2', pod]], remove: ['10.0.0.4'] }), JSON.stringify({ type: 'dns', names: [{ ip: '10.0.0.1', name: 'a.test', ttl: 30 }], answers: 1, malformed: 0 })];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const base = good[i % 2]!;
      const chars = [...base];
      for (let k = 0; k < 1 + Math.floor(rand() * 3); k++) chars[Math.floor(rand() * chars.length)] = String.fromCharCode(Math.floor(rand() * 128));
      const line = i % 10 === 0 ? Buffer.from(Array.from({ length: 64 }, () => Math.floor(rand() * 256))).toString('latin1') : chars.join('');
      const r = parseFromResolver(line);
      expect(typeof (r.error ?? r.message)).not.toBe('undefined');
      if (r.message) {
        accepted += 1;
        // Whatever passes is as declared: re-checking its own serialisation gives it back.
        expect(parseFromResolver(JSON.stringify(r.message)).message).toEqual(r.message);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });
});

describe('LineReader', () => {
  it('joins lines across chunks and drops a line over the bound whole, telling once', () => {
    const lines: string[] = [];
    const long: number[] = [];
    const r = new LineReader(10, (l) => lines.push(l), (n) => long.push(n));
    r.push(Buffer.from('ab'));
    r.push(Buffer.from('c\nde'));
    r.push(Buffer.from('f\n0123456'));
    r.push(Buffer.from('789abcdef'));
    r.push(Buffer.from('ghijk\nok\n'));
    r.push(Buffer.from('0123456789X\nlast\n'));
    expect(lines).toEqual(['abc', 'def', 'ok', 'last']);
    expect(long).toEqual([16, 11]);
  });
});

describe('KubeFacts', () => {
  const id = (name: string) => ({ kind: 'pod' as const, name });
  const kube = (m: Partial<Extract<FromResolver, { type: 'kube' }>>): Extract<FromResolver, { type: 'kube' }> => ({ type: 'kube', reset: false, last: true, set: [], remove: [], ...m });

  it('swaps in a new whole set only once its last chunk came; a new child drops a half-built one', () => {
    const f = new KubeFacts();
    f.apply(kube({ set: [['10.0.0.1', id('a')]] }));
    f.apply(kube({ reset: true, last: false, set: [['10.0.0.2', id('b')]] }));
    expect(f.lookup('10.0.0.1')).toEqual(id('a'));
    expect(f.lookup('10.0.0.2')).toBeUndefined();
    f.apply(kube({ last: false, set: [['10.0.0.3', id('c')]] }));
    expect([f.lookup('10.0.0.1'), f.lookup('10.0.0.3'), f.size]).toEqual([id('a'), undefined, 1]);
    f.childStarted();
    f.apply(kube({ set: [['10.0.0.4', id('d')]], remove: ['10.0.0.1'] }));
    expect([f.lookup('10.0.0.1'), f.lookup('10.0.0.4'), f.size]).toEqual([undefined, id('d'), 1]);
    f.apply(kube({ reset: true, last: false, set: [['10.0.0.5', id('e')]] }));
    f.apply(kube({ set: [['10.0.0.6', id('f')]] }));
    expect([f.lookup('10.0.0.4'), f.lookup('10.0.0.5'), f.lookup('10.0.0.6'), f.size]).toEqual([undefined, id('e'), id('f'), 2]);
  });

  it('refuses a message that would pass the bound, changing nothing', () => {
    const f = new KubeFacts(3);
    f.apply(kube({ set: [['10.0.0.1', id('a')], ['10.0.0.2', id('b')]] }));
    expect(() => f.apply(kube({ set: [['10.0.0.3', id('c')], ['10.0.0.4', id('d')]], remove: ['10.0.0.1'] }))).toThrow(/would pass 3 addresses/);
    expect(f.size).toBe(2);
    f.apply(kube({ set: [['10.0.0.1', id('a2')], ['10.0.0.3', id('c')]] }));
    expect([f.size, f.lookup('10.0.0.1')]).toEqual([3, id('a2')]);
  });
});

describe('the kubeconfig handed to the resolver process', () => {
  it('carries the contents of the files it names, and names a token file to watch', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-kc-'));
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'token'), 'tok-1\n');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
      users: [{ name: 'u', authProvider: { name: 'tokenFile', config: { tokenFile: join(dir, 'token') } } }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    expect(portableKubeConfig(kc)).toEqual({
      config: { clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: Buffer.from('CA').toString('base64'), skipTLSVerify: false }], users: [{ name: 'u', token: 'tok-1' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' },
      tokenFiles: [{ user: 'u', file: join(dir, 'token') }],
    });
    kc.users = [{ name: 'u', exec: { command: 'aws' } }];
    expect(() => portableKubeConfig(kc)).toThrow(/exec plugin/);
  });

  it('for the service account, is what the client\'s loadFromCluster builds, read without loading the client', () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    const root = mkdtempSync(join(tmpdir(), 'weft-sa-'));
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'tok');
    try {
      for (const [host, port, namespace] of [['10.96.0.1', '443', 'weft'], ['fd00::1', '6443', undefined], ['kubernetes.default', '8080', undefined]] as const) {
        process.env.KUBERNETES_SERVICE_HOST = host;
        process.env.KUBERNETES_SERVICE_PORT = port;
        if (namespace) writeFileSync(join(sa, 'namespace'), namespace);
        const kc = new KubeConfig();
        kc.loadFromCluster(root);
        const mine = inClusterConfig(root);
        expect(mine).toEqual({ clusters: kc.clusters, users: kc.users, contexts: kc.contexts, currentContext: kc.currentContext });
        expect(mine.clusters[0]!.server).toBe(host === 'fd00::1' ? 'https://[fd00::1]:6443' : port === '8080' ? 'http://kubernetes.default:8080' : 'https://10.96.0.1:443');
      }
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
