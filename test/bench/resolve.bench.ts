// resolve() is on the tables' hot path: every record names its two ends. This measures calls per
// second with warm caches (a process on this host, a pod among 10,000, an external address named
// by DNS), next to reading /proc directly for each call (what caching avoids) and to parsing DNS
// answers (what the DNS sniffer pays per answer). Prints each figure and the ratios.
import { readFileSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createResolver } from '../../src/collector/resolve/resolver.js';
import { nameEndpoint, type Lookups } from '../../src/collector/resolve/name-endpoint.js';
import { KubeIndex } from '../../src/collector/resolve/kubernetes/kube-index.js';
import { addressNames, parseDnsResponse } from '../../src/collector/resolve/dns/dns-message.js';
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

console.log(`ratio: cached resolve() vs reading /proc per call: ${(local / proc).toFixed(0)}x`);
console.log(`ratio: external vs local resolve(): ${(external / local).toFixed(2)}x; pod lookup vs local: ${(pod / local).toFixed(2)}x`);
console.log(`ratio: DNS answers parsed per resolve() call: ${(dns / local).toFixed(2)}`);
