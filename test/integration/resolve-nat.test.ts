// A DNAT rule (Debian's nftables, inside the test's client namespace) sends connections for a VIP
// to a backend. The backend's socket sees only the backend address; conntrack, read through the
// resolver, gives back the VIP the client dialled — for a connection made before the resolver
// started (found by listing) and one made after (found by the event stream).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, ip, type Wire } from '../helpers/netns.js';
import { createResolver, type WeftResolver } from '../../src/collector/resolve/resolver.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';
import { ConntrackWatcher } from '../../src/collector/resolve/nat/conntrack-watcher.js';

const VIP = '10.73.9.9';

async function until<T>(f: () => T | undefined, ms = 3000): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describePrivileged('resolve: NAT through conntrack', () => {
  let w: Wire;
  let resolver: WeftResolver | undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    w = createWire(73);
    // The VIP is routed towards the backend, and rewritten to it before it leaves.
    ip('-n', w.a.ns, 'route', 'add', `${VIP}/32`, 'via', w.bIp);
    w.a.exec('nft', ['add table ip weft73']);
    w.a.exec('nft', ['add chain ip weft73 out { type nat hook output priority -100 ; }']);
    w.a.exec('nft', [`add rule ip weft73 out ip daddr ${VIP} tcp dport 80 dnat to ${w.bIp}:8073`]);
    children.push((await startNamed(w.b, 'backend73', TCP_SERVER(w.bIp, 8073))).child);
  });

  afterAll(async () => {
    resolver?.close();
    for (const c of children) await stop(c);
    destroyAll();
  });

  it('gives the VIP for the backend connection, listed and streamed', async () => {
    const before = await startNamed(w.a, 'client73', TCP_CLIENT(VIP, 80));
    children.push(before.child);
    const beforePort = Number(before.lines.find((l) => l.startsWith('port '))!.slice(5));

    resolver = createResolver({ kubernetes: false, nat: { netns: [w.a.path] }, log: () => {} });
    const r = resolver;
    // Listed at start: the connection already existed.
    const listed = await until(() => r.originalDestination!(w.aIp, beforePort, w.bIp, 8073, 'tcp'));
    expect(listed).toEqual({ ip: VIP, port: 80 });

    // A connection made now is only in the event stream (the next listing is 30 s away). The
    // stream's subscription has no ready signal, so connect again (bounded) until one is seen.
    let afterPort = 0;
    let streamed: { ip: string; port: number } | undefined;
    for (let attempt = 0; attempt < 5 && !streamed; attempt++) {
      const after = await startNamed(w.a, 'client73', TCP_CLIENT(VIP, 80));
      children.push(after.child);
      afterPort = Number(after.lines.find((l) => l.startsWith('port '))!.slice(5));
      streamed = await until(() => r.originalDestination!(w.aIp, afterPort, w.bIp, 8073, 'tcp'), 1000);
    }
    expect(streamed).toEqual({ ip: VIP, port: 80 });

    // Per backend, as a link table that folds client ports together asks.
    expect(r.natOrigins!(w.bIp, 8073, 'tcp')).toEqual([{ ip: VIP, port: 80 }]);
    expect(r.natOrigins!(w.bIp, 8074, 'tcp')).toEqual([]);
    // Not for other tuples, nor for connections that were not translated.
    expect(r.originalDestination!(w.aIp, afterPort, w.bIp, 8073, 'udp')).toBeUndefined();
    expect(r.originalDestination!(w.aIp, afterPort + 1, w.bIp, 8073, 'tcp')).toBeUndefined();
    // The backend end itself resolves as what it is: the backend's namespace.
    await r.ready();
    expect(r.resolve({ ip: w.bIp, port: 8073 })).toMatchObject({ netns: w.b.ns, kind: 'netns' });
  });

  it('a namespace that is not there: told once (not once per retry), nothing crashes', async () => {
    const told: string[] = [];
    const c = new ConntrackWatcher({ netns: ['/run/netns/weft73-missing'], log: (l) => told.push(l) });
    c.start();
    // Told at all (bounded: a loaded machine may be slow to spawn), then on through restarts 0.5 s
    // and 1 s apart.
    const t0 = Date.now();
    while (told.length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 2000));
    c.close();
    expect(told.length).toBeGreaterThan(0);
    // One line for the failed listing, one for the stream, each told once though retried.
    expect(told.length).toBeLessThanOrEqual(2);
    expect(c.table.size).toBe(0);
  });
});
