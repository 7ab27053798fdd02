// The names reach the link table: the real link collector (links.bpf.c on the socket tracepoints)
// with the real resolver, between named processes in named namespaces. Every link shows the netns
// and process name on both sides, and grouped by netns each namespace is one node.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { endpointId } from '../../src/protocol/endpoint-id.js';
import type { LinkRecord } from '../../src/protocol/index.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';

describePrivileged('resolve: names in the link table', () => {
  let w: Wire;
  let resolver: WeftResolver;
  let links: LinkCollector | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    w = createWire(77);
    resolver = createResolver({ kubernetes: false, nat: false, log: () => {} });
    await resolver.ready();
    links = await startLinkCollector({ resolver, pollIntervalMs: 100 });
    children.push((await startNamed(w.b, 'weftsrv77', TCP_SERVER(w.bIp, 7777))).child);
    for (let i = 0; i < 2; i++) children.push((await startNamed(w.a, 'weftcli77', TCP_CLIENT(w.bIp, 7777))).child);
  });

  afterAll(async () => {
    await links?.close();
    resolver?.close();
    for (const c of children) await stop(c);
    destroyAll();
  });

  it('shows netns and process names on both sides; by netns, one node per namespace', async () => {
    const ours = (): LinkRecord[] => links!.records().filter((l) => l.server.ip === w.bIp && l.server.port === 7777);
    const named = (l: LinkRecord) => l.client.process === 'weftcli77' && l.server.process === 'weftsrv77' && l.client.netns === w.a.ns && l.server.netns === w.b.ns;
    // Names fill in from background caches: poll the table (bounded) until they show.
    const active = () => ours().reduce((n, l) => n + l.connections.active, 0);
    for (let i = 0; i < 100 && !(ours().length > 0 && ours().every(named) && active() === 2); i++) {
      links!.pollNow();
      await new Promise((r) => setTimeout(r, 50));
    }
    const recs = ours();
    expect(recs.length).toBeGreaterThan(0);
    for (const l of recs) {
      expect(l.client).toMatchObject({ ip: w.aIp, netns: w.a.ns, process: 'weftcli77', kind: 'process', name: 'weftcli77' });
      expect(l.server).toMatchObject({ ip: w.bIp, port: 7777, netns: w.b.ns, process: 'weftsrv77', kind: 'process', name: 'weftsrv77' });
      expect(l.connections.active).toBeGreaterThan(0);
    }
    const nodes = new Set(recs.flatMap((l) => [endpointId(l.client, 'netns'), endpointId(l.server, 'netns')]));
    expect(nodes).toEqual(new Set([`netns:${w.a.ns}`, `netns:${w.b.ns}`]));
    expect(active()).toBe(2);
  });
});
