// DNS answers name addresses: a test DNS server (node dgram, in its own namespace) answers a real
// resolver (Node's, in the client namespace) over IPv4 and IPv6; dns.bpf.c, attached through the
// addon to the client's veth, sees the answers; resolve() then names the addresses — the server end
// of a later real connection included — and forgets the names after their TTL.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, ip, type Wire } from '../helpers/netns.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';

// Long enough for the four process starts below on a loaded machine, short enough to wait out.
const TTL = 6;
const API4 = '10.76.5.5';
const API6 = 'fd00:76::5:5';
const EDGE4 = '10.76.5.6';

/** A DNS server answering from prepared responses (by question name and type), query id copied. */
function dnsServerScript(ip4: string, ip6: string, answers: Record<string, string>): string {
  return `
const dgram = require('dgram');
const answers = ${JSON.stringify(answers)};
function serve(type, addr) {
  const s = dgram.createSocket(type);
  s.on('message', (q, rinfo) => {
    let off = 12; const labels = [];
    while (off < q.length && q[off] !== 0) { labels.push(q.subarray(off + 1, off + 1 + q[off]).toString()); off += 1 + q[off]; }
    const hex = answers[labels.join('.') + '/' + q.readUInt16BE(off + 1)];
    if (!hex) return;
    const r = Buffer.from(hex, 'hex'); q.copy(r, 0, 0, 2);
    s.send(r, rinfo.port, rinfo.address);
  });
  return new Promise((res) => s.bind(53, addr, res));
}
Promise.all([serve('udp4', ${JSON.stringify(ip4)}), serve('udp6', ${JSON.stringify(ip6)})]).then(() => console.log('ready'));`;
}

/** Node's own resolver in the client namespace, asking the test server (over v4 or v6). */
function lookupScript(server: string, name: string, rrtype: 'A' | 'AAAA'): string {
  return `
const r = new (require('dns').promises.Resolver)({ timeout: 2000, tries: 2 });
r.setServers([${JSON.stringify(server)}]);
r.resolve(${JSON.stringify(name)}, ${JSON.stringify(rrtype)}).then((a) => { console.log('answer ' + a.join(',')); console.log('ready'); }, (e) => { console.error(e.message); process.exit(1); });`;
}

describePrivileged('resolve: names from DNS answers seen by dns.bpf.c', () => {
  let w: Wire;
  let resolver: WeftResolver;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    w = createWire(76);
    // The API address lives in the server namespace too, so a real connection can reach it.
    ip('-n', w.b.ns, 'addr', 'add', `${API4}/32`, 'dev', w.bIf);
    ip('-n', w.a.ns, 'route', 'add', `${API4}/32`, 'via', w.bIp);
    const hex = (b: Buffer) => b.toString('hex');
    const answers = {
      'api.weft.test/1': hex(encodeResponse({ question: { name: 'api.weft.test', type: 'A' }, answers: [{ name: 'api.weft.test', type: 'A', ttl: TTL, data: API4 }] })),
      'api.weft.test/28': hex(encodeResponse({ question: { name: 'api.weft.test', type: 'AAAA' }, answers: [{ name: 'api.weft.test', type: 'AAAA', ttl: TTL, data: API6 }] })),
      'www.weft.test/1': hex(
        encodeResponse({
          question: { name: 'www.weft.test', type: 'A' },
          answers: [
            { name: 'www.weft.test', type: 'CNAME', ttl: 60, data: 'edge.cdn.weft.test' },
            { name: 'edge.cdn.weft.test', type: 'A', ttl: TTL, data: EDGE4 },
          ],
        }),
      ),
    };
    children.push((await startNamed(w.b, 'weftdns76', dnsServerScript(w.bIp, w.bIp6, answers))).child);
    resolver = createResolver({
      kubernetes: false,
      nat: false,
      dns: { minTtlSec: 1 },
      log: () => {},
    });
    await resolver.ready();
    // Watched after start, as the collector does once it knows its interfaces; dns.bpf.o from lib/bpf/.
    expect(resolver.dnsSniffer).toBeUndefined();
    const [attached] = resolver.watchDns([{ interface: w.aIf, netns: w.a.path }]);
    expect(attached!.target).toContain(w.aIf);
  });

  afterAll(async () => {
    resolver?.close();
    for (const c of children) await stop(c);
    destroyAll();
  });

  async function ask(server: string, name: string, rrtype: 'A' | 'AAAA'): Promise<string> {
    const p = await startNamed(w.a, 'weftlookup76', lookupScript(server, name, rrtype));
    children.push(p.child);
    return p.lines.find((l) => l.startsWith('answer '))!.slice(7);
  }

  it('names addresses from A and AAAA answers (over IPv4 and IPv6) and CNAME chains, then forgets them after the TTL', async () => {
    expect(resolver.resolve({ ip: EDGE4 })).toEqual({ ip: EDGE4, kind: 'external' });
    expect(await ask(w.bIp, 'api.weft.test', 'A')).toBe(API4);
    expect(await ask(w.bIp6, 'api.weft.test', 'AAAA')).toBe(API6);
    expect(await ask(w.bIp, 'www.weft.test', 'A')).toBe(EDGE4);
    const learned = Date.now();
    // The ring buffer is read on the event loop: give it a moment (bounded).
    for (let i = 0; i < 50 && resolver.resolve({ ip: EDGE4 }).dns === undefined; i++) await new Promise((r) => setTimeout(r, 10));

    expect(resolver.resolve({ ip: EDGE4 })).toEqual({ ip: EDGE4, kind: 'external', name: 'www.weft.test', dns: 'www.weft.test' });
    expect(resolver.resolve({ ip: API6 })).toEqual({ ip: API6, kind: 'external', name: 'api.weft.test', dns: 'api.weft.test' });
    expect(resolver.dnsSniffer!.stats).toMatchObject({ answers: 3, names: 3, malformed: 0 });

    // A later connection to the address: its server end (from the server's real socket) carries the name.
    children.push((await startNamed(w.b, 'weftapi76', TCP_SERVER(API4, 8076))).child);
    const client = await startNamed(w.a, 'weftcli76', TCP_CLIENT(API4, 8076));
    children.push(client.child);
    const server = resolver.resolve({ ip: API4, port: 8076 });
    expect(server).toMatchObject({ ip: API4, port: 8076, dns: 'api.weft.test', netns: w.b.ns });

    // Still named well inside the TTL ...
    const half = learned + (TTL * 1000) / 2 - Date.now();
    if (half > 0) await new Promise((r) => setTimeout(r, half));
    expect(resolver.resolve({ ip: EDGE4 }).dns).toBe('www.weft.test');
    // ... and gone once it has passed (bounded wait: the answers were read a moment after they came).
    const gone = (ip: string) => resolver.resolve({ ip }).dns === undefined;
    while (!(gone(EDGE4) && gone(API6) && gone(API4)) && Date.now() < learned + TTL * 1000 + 1500) await new Promise((r) => setTimeout(r, 20));
    expect(resolver.resolve({ ip: EDGE4 })).toEqual({ ip: EDGE4, kind: 'external' });
    expect(resolver.resolve({ ip: API6 }).dns).toBeUndefined();
    expect(resolver.resolve({ ip: API4, port: 8076 }).dns).toBeUndefined();
    expect(Date.now() - learned).toBeGreaterThanOrEqual(TTL * 1000 - 500);
  });
});
