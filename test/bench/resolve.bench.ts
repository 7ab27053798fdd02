// resolve() is on the tables' hot path: every record names its two ends. This measures calls per
// second with warm caches (a process on this host, a pod among 10,000, an external address named
// by DNS), next to reading /proc directly for each call (what caching avoids) and to parsing DNS
// answers (what the DNS sniffer pays per answer), and to handing the same answers to the
// unprivileged resolver process instead (what privilege separation costs the root process per
// answer, what the child pays, and answers per second end to end). Prints each figure and the ratios.
import { readFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createResolver } from '../../src/collector/resolve/resolver.js';
import { nameEndpoint, type Lookups } from '../../src/collector/resolve/name-endpoint.js';
import { KubeIndex } from '../../src/collector/resolve/kubernetes/kube-index.js';
import { addressNames, parseDnsResponse } from '../../src/collector/resolve/dns/dns-message.js';
import { DnsCache } from '../../src/collector/resolve/dns/dns-cache.js';
import { parseHere } from '../../src/collector/resolve/dns/dns-sniffer.js';
import { encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';

const CALLS = 200_000;

function rate(label: string, n: number, f: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 10_000); i++) f(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f(i);
  const ms = performance.now() - t0;
  const perSec = (n / ms) * 1000;
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toLocaleString('en').padStart(12)} /s  ${((ms * 1000) / n).toFixed(3)} µs/call`);
  return perSec;
}

const r = createResolver({ kubernetes: false, nat: false, log: () => {} });
await r.ready();
const pid = process.pid;
const inode = statSync('/proc/self/ns/net').ino;
r.resolve({ ip: '127.0.0.1', pid, netnsInode: inode });
await new Promise((res) => setTimeout(res, 200)); // the process cache fills in the background
r.dnsCache.add({ ip: '10.79.0.9', name: 'api.example.test', ttl: 3600 });

const local = rate('resolve(): process on this host', CALLS, () => r.resolve({ ip: '127.0.0.1', port: 8080, pid, netnsInode: inode }));
const external = rate('resolve(): external, named by DNS', CALLS, () => r.resolve({ ip: '10.79.0.9', port: 443 }));
const proc = rate('baseline: read /proc/PID/{comm,cmdline} per call', 20_000, () => {
  readFileSync(`/proc/${pid}/comm`, 'utf8');
  readFileSync(`/proc/${pid}/cmdline`, 'utf8');
});
r.close();

const kube = new KubeIndex();
for (let i = 0; i < 10_000; i++) {
  kube.setPod({
    metadata: { name: `web-${i}`, namespace: `team${i % 40}`, uid: `u${i}`, ownerReferences: [{ kind: 'ReplicaSet', name: `web-rs-${i % 400}`, controller: true }] },
    spec: { nodeName: `node${i % 8}` },
    status: { phase: 'Running', podIP: `10.${79}.${Math.floor(i / 250)}.${i % 250}` },
  });
}
for (let j = 0; j < 400; j++) kube.setOwned('ReplicaSet', { metadata: { name: `web-rs-${j}`, namespace: `team${j % 40}`, ownerReferences: [{ kind: 'Deployment', name: `web${j}`, controller: true }] } });
const lookups: Lookups = {
  hostname: 'bench',
  netnsName: () => undefined,
  netnsOfIp: () => undefined,
  isLocal: () => false,
  process: () => undefined,
  cgroupPath: () => undefined,
  kube: (ip) => kube.lookup(ip),
  dns: () => undefined,
};
const ips = Array.from({ length: 10_000 }, (_, i) => `10.79.${Math.floor(i / 250)}.${i % 250}`);
const pod = rate('nameEndpoint(): pod among 10,000', CALLS, (i) => nameEndpoint({ ip: ips[i % ips.length]! }, lookups));

const answer = encodeResponse({
  question: { name: 'www.example.test', type: 'A' },
  answers: [
    { name: 'www.example.test', type: 'CNAME', ttl: 300, data: 'edge.cdn.example.test' },
    ...Array.from({ length: 4 }, (_, i) => ({ name: 'edge.cdn.example.test', type: 'A' as const, ttl: 60, data: `10.79.9.${i}` })),
  ],
});
const dns = rate('DNS answer parsed (CNAME + 4 A)', CALLS / 4, () => addressNames(parseDnsResponse(answer).response!));

// The same answers through the resolver process (needs root, for setpriv): handed over in wakeups
// of 2,560 records, each waited for, as the ring buffer delivers them.
const ROUND = 2_560;
const ROUNDS = 40;
const cpuOf = (p: number): number => {
  const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime + stime, clock ticks (100 Hz) → µs
};
let isolated: { parentUs: number; childUs: number; perSec: number; inPlaceUs: number } | undefined;
if (process.getuid?.() === 0) {
  const iso = createResolver({ kubernetes: false, nat: false, isolate: { user: { uid: 65534, gid: 65534 } }, log: () => {} });
  const child = iso.isolated!;
  await child.ready();
  const header = Buffer.alloc(8);
  header.writeUInt16LE(answer.length, 4);
  const round = Array.from({ length: ROUND }, () => Buffer.concat([header, answer]));
  const waitFor = async (n: number) => {
    while (child.dns.counts().answers < n) await new Promise((res) => setImmediate(res));
  };
  // In place, as --no-privsep does it: parsed, and the names put in the cache.
  const cache = new DnsCache();
  const here = parseHere((names) => names.forEach((x) => cache.add(x)));
  const inPlaceUs = (1e6 / rate('DNS wakeups of 2,560 answers parsed in place', ROUNDS, () => here.take(round))) / ROUND;
  child.dns.take(round);
  await waitFor(ROUND);
  const childPid = child.pid()!;
  const [cpu0, childCpu0, t0] = [process.cpuUsage(), cpuOf(childPid), performance.now()];
  for (let i = 1; i <= ROUNDS; i++) {
    child.dns.take(round);
    await waitFor((i + 1) * ROUND);
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const n = ROUNDS * ROUND;
  isolated = { parentUs: (cpu.user + cpu.system) / n, childUs: (cpuOf(childPid) - childCpu0) / n, perSec: (n / ms) * 1000, inPlaceUs };
  if (child.health().dnsDropped > 0 || iso.dnsCache.get('10.79.9.0') !== 'www.example.test') throw new Error('answers were dropped or not named');
  console.log(`${'DNS answers through the resolver process'.padEnd(44)} ${Math.round(isolated.perSec).toLocaleString('en').padStart(12)} /s  root process ${isolated.parentUs.toFixed(2)} µs, resolver process ${isolated.childUs.toFixed(2)} µs CPU per answer`);
  await child.close();
  iso.close();
} else {
  console.log('DNS answers through the resolver process: skipped (needs root for setpriv)');
}

console.log(`ratio: cached resolve() vs reading /proc per call: ${(local / proc).toFixed(0)}x`);
console.log(`ratio: external vs local resolve(): ${(external / local).toFixed(2)}x; pod lookup vs local: ${(pod / local).toFixed(2)}x`);
console.log(`ratio: DNS answers parsed per resolve() call: ${(dns / local).toFixed(2)}`);
if (isolated) {
  const { parentUs, childUs, inPlaceUs } = isolated;
  console.log(`ratio: root process CPU per answer, handed to the resolver process vs parsed in place: ${(parentUs / inPlaceUs).toFixed(2)}x (${parentUs.toFixed(2)} vs ${inPlaceUs.toFixed(2)} µs); both processes together: ${((parentUs + childUs) / inPlaceUs).toFixed(2)}x`);
}
