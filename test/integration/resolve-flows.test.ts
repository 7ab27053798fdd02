// The names reach the flow table: the real flow collector (flows.bpf.c) and the DNS watcher
// (dns.bpf.c) on the same client veth. The client looks a name up, then connects to the address
// it got: the flow's destination carries the DNS name and the server's namespace, its source the
// client's namespace.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, ip, type Wire } from '../helpers/netns.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { startFlowCollector, type FlowCollector } from '../../src/collector/flow-collector.js';
import type { FlowRecord } from '../../src/protocol/index.js';
import { encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';

const API = '10.78.5.5';

describePrivileged('resolve: names in the flow table', () => {
  let w: Wire;
  let resolver: WeftResolver;
  let flows: FlowCollector | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    w = createWire(78);
    ip('-n', w.b.ns, 'addr', 'add', `${API}/32`, 'dev', w.bIf);
    ip('-n', w.a.ns, 'route', 'add', `${API}/32`, 'via', w.bIp);
    const answer = encodeResponse({ question: { name: 'shop.weft.test', type: 'A' }, answers: [{ name: 'shop.weft.test', type: 'A', ttl: 60, data: API }] }).toString('hex');
    // One-answer DNS server: whatever the question, this answer with the query's id.
    const dnsServer = `const s = require('dgram').createSocket('udp4'); const a = Buffer.from('${answer}', 'hex');
s.on('message', (q, r) => { const b = Buffer.from(a); q.copy(b, 0, 0, 2); s.send(b, r.port, r.address); });
s.bind(53, '${w.bIp}', () => console.log('ready'));`;
    children.push((await startNamed(w.b, 'weftdns78', dnsServer)).child);
    children.push((await startNamed(w.b, 'weftshop78', TCP_SERVER(API, 8078))).child);
    resolver = createResolver({ kubernetes: false, nat: false, log: () => {} });
    await resolver.ready();
    resolver.watchDns([{ interface: w.aIf, netns: w.a.path }]);
    flows = await startFlowCollector({ resolver, interfaces: `${w.a.ns}:${w.aIf}`, activeTimeoutMs: 100 });
  });

  afterAll(async () => {
    await flows?.close();
    resolver?.close();
    for (const c of children) await stop(c);
    destroyAll();
  });

  it('the flow to the looked-up address carries the DNS name and both namespaces', async () => {
    const lookup = `const r = new (require('dns').promises.Resolver)({ timeout: 2000, tries: 2 }); r.setServers(['${w.bIp}']);
r.resolve4('shop.weft.test').then((a) => { console.log('answer ' + a[0]); console.log('ready'); }, (e) => { console.error(e.message); process.exit(1); });`;
    const asked = await startNamed(w.a, 'weftlookup78', lookup);
    children.push(asked.child);
    expect(asked.lines).toContain(`answer ${API}`);
    children.push((await startNamed(w.a, 'weftcli78', TCP_CLIENT(API, 8078))).child);

    const toApi = (): FlowRecord | undefined => flows!.records().find((f) => f.dst === API && f.dstPort === 8078 && f.direction === 'egress');
    for (let i = 0; i < 100 && toApi()?.dstEndpoint?.dns === undefined; i++) {
      flows!.drainNow();
      await new Promise((r) => setTimeout(r, 50));
    }
    const f = toApi();
    expect(f).toBeDefined();
    expect(f!.dstEndpoint).toMatchObject({ ip: API, port: 8078, dns: 'shop.weft.test', netns: w.b.ns });
    expect(f!.srcEndpoint).toMatchObject({ ip: w.aIp, netns: w.a.ns, kind: 'netns', name: w.a.ns });
    // The DNS answer itself is a flow too, from the server's namespace.
    const dnsFlow = flows!.records().find((x) => x.src === w.bIp && x.srcPort === 53);
    expect(dnsFlow?.srcEndpoint).toMatchObject({ netns: w.b.ns });
  });
});
