// The collector's real tables as `weft-collector` opens them (openKernelTables), watching one test
// host's veth: a UDP conversation becomes one `udp` link with the listening side as server; a
// connection to a DNAT VIP becomes a link to the backend with the VIP in details; a DNS answer seen
// on the watched interface names the server of a later connection.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, ip, type Wire } from '../helpers/netns.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';
import { encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';
import { openKernelTables } from '../../src/collector/tables/kernel-tables.js';
import { toConfig } from '../../src/collector/config.js';
import type { CollectorParts } from '../../src/collector/collector.js';
import type { LinkRecord } from '../../src/protocol/index.js';

const VIP = '10.81.9.9';
const API = '10.81.5.5';
const NAME = 'api.weft81.test';
const DATAGRAMS = 7;

/** Polls f every 50 ms until it gives something, for at most ms. */
async function until<T>(f: () => T | undefined, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describePrivileged('wiring: the kernel tables weft-collector serves', () => {
  let w: Wire;
  let parts: CollectorParts | undefined;
  const children: ChildProcess[] = [];
  const links = (): LinkRecord[] => parts!.links.records();
  const wiring = () => parts!.health.wiring!() as { dnsInterfaces: string[]; udpListeners: number; errors: string[] };
  const seen = (): string => JSON.stringify(links().filter((l) => l.client.ip.startsWith('10.81.') || l.server.ip.startsWith('10.81.')));

  beforeAll(async () => {
    w = createWire(81);
    for (const addr of [VIP, API]) ip('-n', w.a.ns, 'route', 'add', `${addr}/32`, 'via', w.bIp);
    ip('-n', w.b.ns, 'addr', 'add', `${API}/32`, 'dev', w.bIf);
    w.a.exec('nft', ['add table ip weft81']);
    w.a.exec('nft', ['add chain ip weft81 out { type nat hook output priority -100 ; }']);
    w.a.exec('nft', [`add rule ip weft81 out ip daddr ${VIP} tcp dport 80 dnat to ${w.bIp}:8081`]);
    parts = await openKernelTables(toConfig({ interfaces: `${w.a.ns}:${w.aIf},${w.a.ns}:wdns81*` }));
  }, 30_000);

  afterAll(async () => {
    for (const c of children) await stop(c);
    await parts?.close();
    destroyAll();
  });

  it('a UDP conversation is one udp link, server = the side that listens (not the lower port)', async () => {
    // Server on 30081, client bound to 20081 and connected: port numbers alone would pick the client.
    const server = `const d = require('dgram').createSocket('udp4');
d.on('message', (m, r) => d.send(Buffer.alloc(50), r.port, r.address));
d.bind(30081, ${JSON.stringify(w.bIp)}, () => console.log('ready'));`;
    children.push((await startNamed(w.b, 'wireudp81', server)).child);
    const client = `const d = require('dgram').createSocket('udp4');
let got = 0;
d.on('message', () => { if (++got === ${DATAGRAMS}) console.log('ready'); });
d.bind(20081, ${JSON.stringify(w.aIp)}, () => d.connect(30081, ${JSON.stringify(w.bIp)}, () => { for (let i = 0; i < ${DATAGRAMS}; i++) d.send(Buffer.alloc(100)); }));`;
    children.push((await startNamed(w.a, 'wireudpc81', client)).child);

    const id = `udp:${w.aIp}>${w.bIp}:30081`;
    const link = await until(() => {
      const l = links().find((r) => r.id === id);
      return l && l.bytesSent === 100 * DATAGRAMS && l.bytesReceived === 50 * DATAGRAMS && !links().some((r) => r.id === `udp:${w.bIp}>${w.aIp}:20081`) ? l : undefined;
    }, 15_000);
    expect(link, seen()).toBeDefined();
    expect(link).toMatchObject({ protocol: 'udp', client: { ip: w.aIp }, server: { ip: w.bIp, port: 30081 }, connections: { active: 1, failed: 0 } });
    expect(links().filter((r) => r.protocol === 'udp' && r.client.ip === w.aIp && r.server.ip === w.bIp && r.server.port === 30081)).toHaveLength(1);
    expect(wiring().udpListeners).toBeGreaterThan(0);
  });

  it('a connection to a DNAT VIP is a link to the backend with the VIP in details, named by the client', async () => {
    children.push((await startNamed(w.b, 'wireback81', TCP_SERVER(w.bIp, 8081))).child);
    // conntrack's event stream has no ready signal: connect again (bounded) until one is seen.
    let link: LinkRecord | undefined;
    for (let attempt = 0; attempt < 5 && !link; attempt++) {
      children.push((await startNamed(w.a, 'wirecli81', TCP_CLIENT(VIP, 80))).child);
      link = await until(() => links().find((l) => l.protocol === 'tcp' && l.server.ip === w.bIp && l.server.port === 8081 && l.details?.vip === `${VIP}:80` && l.client.process === 'wirecli81'), 3000);
    }
    expect(link, seen()).toBeDefined();
    expect(link!.client.ip).toBe(w.aIp);
    expect(link!.connections.active).toBeGreaterThanOrEqual(1);
    // The client socket's own view (to the VIP) is folded in, not counted again.
    expect(links().filter((l) => l.client.ip === w.aIp && l.server.ip === VIP), seen()).toEqual([]);
  });

  it('a DNS answer seen on the watched interface names the server of a later connection', async () => {
    expect(wiring().dnsInterfaces).toEqual([`${w.a.ns}:${w.aIf}`]);
    const answer = encodeResponse({ question: { name: NAME, type: 'A' }, answers: [{ name: NAME, type: 'A', ttl: 60, data: API }] }).toString('hex');
    const dnsServer = `const d = require('dgram').createSocket('udp4');
d.on('message', (q, r) => { const a = Buffer.from(${JSON.stringify(answer)}, 'hex'); q.copy(a, 0, 0, 2); d.send(a, r.port, r.address); });
d.bind(53, ${JSON.stringify(w.bIp)}, () => console.log('ready'));`;
    children.push((await startNamed(w.b, 'wiredns81', dnsServer)).child);
    const lookup = `const r = new (require('dns').promises.Resolver)({ timeout: 2000, tries: 2 });
r.setServers([${JSON.stringify(w.bIp)}]);
r.resolve4(${JSON.stringify(NAME)}).then((a) => { console.log('answer ' + a.join(',')); console.log('ready'); }, (e) => { console.error(e.message); process.exit(1); });`;
    const asked = await startNamed(w.a, 'wirelookup81', lookup);
    children.push(asked.child);
    expect(asked.lines).toContain(`answer ${API}`);

    children.push((await startNamed(w.b, 'wireapi81', TCP_SERVER(API, 8181))).child);
    children.push((await startNamed(w.a, 'wireapic81', TCP_CLIENT(API, 8181))).child);
    const link = await until(() => links().find((l) => l.server.ip === API && l.server.port === 8181 && l.server.dns === NAME), 10_000);
    expect(link, seen()).toBeDefined();
    expect(link!.client.ip).toBe(w.aIp);
  });

  it('follows interfaces the flow collector attaches to as they come and go', async () => {
    ip('-n', w.a.ns, 'link', 'add', 'wdns81x', 'type', 'veth', 'peer', 'name', 'wdns81y');
    const both = [`${w.a.ns}:${w.aIf}`, `${w.a.ns}:wdns81x`, `${w.a.ns}:wdns81y`].sort();
    const added = await until(() => (JSON.stringify(wiring().dnsInterfaces) === JSON.stringify(both) ? true : undefined), 10_000);
    expect(added, JSON.stringify(wiring())).toBe(true);
    ip('-n', w.a.ns, 'link', 'del', 'wdns81x');
    const removed = await until(() => (wiring().dnsInterfaces.length === 1 ? true : undefined), 10_000);
    expect(removed, JSON.stringify(wiring())).toBe(true);
    expect(wiring().dnsInterfaces).toEqual([`${w.a.ns}:${w.aIf}`]);
    expect(wiring().errors.filter((e) => e.includes('dns'))).toEqual([]);
  });
});
