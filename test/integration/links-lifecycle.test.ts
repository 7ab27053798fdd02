// Connection lifecycles on the link: refused and SYN-dropped connects count as failed,
// retransmits show only when the test's own TC program drops packets, and a connection opened
// before the collector started appears with the right role and exact bytes after the start.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createWire, destroyAll, retransmitsStillQueued, retransmittedSegments, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { linkBetween, startAgent, waitForLinks, warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { openObject, type KernelObject } from '../../src/collector/kernel/index.js';
import type { LinkRecord } from '../../src/protocol/index.js';

const DROP_OBJECT = fileURLToPath(new URL('../../lib/bpf/test/l_drop.bpf.o', import.meta.url));

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

/** The test's loss injector on one veth: every Nth payload segment and/or SYNs to one port. */
function dropper(wire: Wire, side: 'a' | 'b', direction: 'ingress' | 'egress', opts: { every?: number; synPort?: number }): KernelObject {
  const obj = openObject(DROP_OBJECT, { rodata: { drop_every: u32(opts.every ?? 0), drop_syn_port: u16(opts.synPort ?? 0) } });
  try {
    obj.attachTc('l_drop', {
      interface: side === 'a' ? wire.aIf : wire.bIf,
      direction,
      netns: side === 'a' ? wire.a.path : wire.b.path,
    });
  } catch (e) {
    obj.close();
    throw e;
  }
  return obj;
}

function dropped(obj: KernelObject): number {
  const v = obj.map('drop_stats').lookup(u32(1));
  return v ? Number(v.readBigUInt64LE(0)) : 0;
}

describePrivileged('links: lifecycle', () => {
  let wire: Wire;
  let collector: LinkCollector;

  beforeAll(async () => {
    wire = createWire(32);
    warmUp(wire.a, wire.bIp);
    // One SYN retransmit, then the connect gives up (about 3 s instead of 127 s).
    wire.a.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_syn_retries=1']);
    // No tail-loss probes: on a busy CI machine a late ACK would otherwise count as a retransmit
    // (the dropped packets are still recovered by SACK and RTO).
    for (const h of [wire.a, wire.b]) h.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_early_retrans=0']);
    collector = await startLinkCollector({ pollIntervalMs: 200 });
  });

  afterAll(async () => {
    await collector?.close();
    destroyAll();
  });

  it('counts a refused connect as failed on its link', async () => {
    const agent = startAgent(wire.a, ['fail', '--host', wire.bIp, '--port', '6001', '--conns', '2']);
    await agent.done();
    const link = await waitForLinks(collector, (links) => {
      const l = linkBetween(links, wire.aIp, wire.bIp, 6001)[0];
      return l && l.connections.failed === 2 ? l : undefined;
    });
    expect(link.connections).toEqual({ active: 0, closed: 0, failed: 2 });
    expect(link.bytesSent).toBe(0);
    expect(link.client.process).toBe('python3');
  });

  it('counts a connect whose SYNs are dropped as failed', async () => {
    const drop = dropper(wire, 'b', 'ingress', { synPort: 6002 });
    let synsDropped = 0;
    try {
      const server = startAgent(wire.b, ['server', '--host', wire.bIp, '--port', '6002']);
      try {
        await server.line(/^ready$/);
        const agent = startAgent(wire.a, ['fail', '--host', wire.bIp, '--port', '6002']);
        expect(await agent.line(/^failed/, 15_000)).toBe('failed TimeoutError');
        await agent.done();
      } finally {
        server.kill();
      }
      synsDropped = dropped(drop);
    } finally {
      drop.close();
    }
    const link = await waitForLinks(collector, (links) => {
      const l = linkBetween(links, wire.aIp, wire.bIp, 6002)[0];
      return l && l.connections.failed === 1 ? l : undefined;
    });
    expect(link.connections).toEqual({ active: 0, closed: 0, failed: 1 });
    // Every SYN but the first one was a retransmit, and each was dropped.
    expect(synsDropped).toBeGreaterThanOrEqual(2);
    expect(link.retransmits).toBe(synsDropped - 1);
  });

  /** 2,000,000 bytes client → server and 1,000 back; `fromServer` turns the two around. */
  async function bulk(port: number, fromServer = false): Promise<void> {
    const [up, down] = fromServer ? ['1000', '2000000'] : ['2000000', '1000'];
    const server = startAgent(wire.b, ['server', '--host', wire.bIp, '--port', String(port), '--recv', up, '--send', down]);
    try {
      await server.line(/^ready$/);
      const client = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', String(port), '--send', up, '--recv', down]);
      await client.done();
      await server.done();
    } finally {
      server.kill();
    }
  }

  /** Segments the kernel itself retransmitted in both test hosts (Tcp RetransSegs). */
  const kernelRetransmits = (): number => retransmittedSegments(wire.a) + retransmittedSegments(wire.b);

  /** The link to `port` in `table` once its `closed` connections have closed and none is open. */
  const closedLink = (port: number, table: LinkCollector = collector, closed = 1): Promise<LinkRecord> =>
    waitForLinks(table, (links) => {
      const l = linkBetween(links, wire.aIp, wire.bIp, port)[0];
      return l && l.connections.closed === closed && l.connections.active === 0 ? l : undefined;
    });

  /** bulk() with every 5th payload segment dropped where `side` receives; the closed link. */
  async function lossyBulk(side: 'a' | 'b', port: number, fromServer = false): Promise<LinkRecord> {
    const drop = dropper(wire, side, 'ingress', { every: 5 });
    try {
      await bulk(port, fromServer);
      expect(dropped(drop)).toBeGreaterThan(0);
    } finally {
      drop.close();
    }
    return closedLink(port);
  }

  it('shows no retransmits without loss, and some with the test dropping packets', async () => {
    // On this 2-core VM a clean veth transfer now and then really loses a segment (the kernel's
    // own counters show a SACK recovery; cause not found), so the clean run is checked against
    // what the kernel retransmitted in the test hosts: none → 0 on the link; some → as many
    // events at most as segments (one event may resend a GSO skb of many segments).
    const before = kernelRetransmits();
    await bulk(6003);
    const clean = await closedLink(6003);
    const resent = kernelRetransmits() - before;
    if (resent === 0) {
      expect(clean.retransmits).toBe(0);
    } else {
      expect(clean.retransmits).toBeGreaterThan(0);
      expect(clean.retransmits).toBeLessThanOrEqual(resent);
    }
    expect(clean.bytesSent).toBe(2_000_000);

    // Dropped where the server receives: a drop on the sender's own egress is reported back to
    // TCP as a local failure and sent again as new data, not retransmitted.
    const lossy = await lossyBulk('b', 6004);
    expect(lossy.retransmits).toBeGreaterThan(0);
    // Loss changes nothing in the application's bytes.
    expect(lossy.bytesSent).toBe(2_000_000);
    expect(lossy.bytesReceived).toBe(1000);
  });

  it('counts only the retransmits the kernel sent, not attempts turned away while the original is queued', async () => {
    // A 16 kbit/s token bucket on the client's egress holds each full segment about 0.75 s,
    // longer than the RTO: the timer fires while the original is still queued, and the kernel
    // refuses that attempt (-EBUSY). Since Linux 6.17 the tracepoint fires for it too.
    wire.a.exec('tc', ['qdisc', 'add', 'dev', wire.aIf, 'root', 'tbf', 'rate', '16kbit', 'burst', '1600', 'limit', '200000']);
    const queuedBefore = retransmitsStillQueued(wire.a);
    const before = kernelRetransmits();
    try {
      const server = startAgent(wire.b, ['server', '--host', wire.bIp, '--port', '6009', '--recv', '6000']);
      try {
        await server.line(/^ready$/);
        const client = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', '6009', '--send', '6000']);
        await client.done(20_000);
        await server.done();
      } finally {
        server.kill();
      }
    } finally {
      wire.a.exec('tc', ['qdisc', 'del', 'dev', wire.aIf, 'root']);
    }
    const link = await closedLink(6009);
    expect(retransmitsStillQueued(wire.a) - queuedBefore).toBeGreaterThan(0);
    expect(link.retransmits).toBeLessThanOrEqual(kernelRetransmits() - before);
    // Once seen in CI: 0 here on a closed link. What the table and the kernel said then, if again.
    expect(link.bytesSent, JSON.stringify({ link, health: collector.health() })).toBe(6000);
  });

  it("puts a local server's retransmits on the link (its view has a slot, not an entry)", async () => {
    // Dropped where the client receives: the server resends, and only the server's retransmits
    // reach the link through its client's entry.
    const lossy = await lossyBulk('a', 6005, true);
    expect(lossy.retransmits).toBeGreaterThan(0);
    expect(lossy.bytesSent).toBe(1000);
    expect(lossy.bytesReceived).toBe(2_000_000);
    expect(collector.records().filter((l) => l.server.port === 6005)).toHaveLength(1);
  });

  it('finds a connection opened before it started, with the right role and exact bytes after', async () => {
    const server = startAgent(wire.b, ['server', '--host', wire.bIp, '--port', '6005', '--recv', '70001', '--send', '90001']);
    let late: LinkCollector | undefined;
    try {
      await server.line(/^ready$/);
      const client = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', '6005', '--send', '70001', '--recv', '90001', '--wait-stdin']);
      await client.line(/^connected$/);
      late = await startLinkCollector({ pollIntervalMs: 200 });
      // Before any byte moves, the socket table alone put it in the table, client and server right.
      const seen = await waitForLinks(late, (links) => linkBetween(links, wire.aIp, wire.bIp, 6005)[0]);
      expect(seen.connections.active).toBe(1);
      expect(seen.bytesSent).toBe(0);
      expect(late.records().filter((l) => l.server.port === 6005 || l.client.ip === wire.bIp)).toHaveLength(1);
      client.send('go\n');
      await client.done();
      await server.done();
      const link = await closedLink(6005, late);
      expect(link.bytesSent).toBe(70001);
      expect(link.bytesReceived).toBe(90001);
      expect(link.client.process).toBe('python3');
      expect(late.records().filter((l) => l.server.port === 6005 || l.client.ip === wire.bIp)).toHaveLength(1);
    } finally {
      server.kill();
      await late?.close();
    }
  });

  it('finds a connection opened before it started whose entry slot another socket holds (link_conns instead), exact bytes after', async () => {
    const servers = [6007, 6008].map((port) => startAgent(wire.b, ['server', '--host', wire.bIp, '--port', String(port), '--recv', '70001', '--send', '90001']));
    const clients: ReturnType<typeof startAgent>[] = [];
    let late: LinkCollector | undefined;
    try {
      for (const s of servers) await s.line(/^ready$/);
      const early = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', '6007', '--send', '70001', '--recv', '90001', '--wait-stdin']);
      clients.push(early);
      await early.line(/^connected$/);
      // One slot, and only the client's namespace traced: the holder's connect (after the start)
      // takes the slot, so the connection open before the start gets an entry in link_conns.
      late = await startLinkCollector({ pollIntervalMs: 200, mapSizes: { slots: 1 }, onlyNetns: statSync(wire.a.path).ino });
      const holder = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', '6008', '--send', '70001', '--recv', '90001', '--wait-stdin']);
      clients.push(holder);
      await holder.line(/^connected$/);
      await waitForLinks(late, (links) => linkBetween(links, wire.aIp, wire.bIp, 6008).find((l) => l.connections.active === 1));
      early.send('go\n');
      await early.done();
      const link = await closedLink(6007, late);
      expect(link.bytesSent).toBe(70001);
      expect(link.bytesReceived).toBe(90001);
      holder.send('go\n');
      await holder.done();
      const held = await closedLink(6008, late);
      expect(held).toMatchObject({ bytesSent: 70001, bytesReceived: 90001 });
      // Traced exactly: the close-time cross-check found nothing to correct.
      expect(late.health().corrections).toBe(0);
      expect(late.health().mapFill.entries).toBe(0);
    } finally {
      for (const a of [...servers, ...clients]) a.kill();
      await late?.close();
    }
  });

  it('without the payload tracepoints (kernels before 6.3), still counts exact bytes at close', async () => {
    const old = await startLinkCollector({ pollIntervalMs: 200, withoutTracepoints: ['sock:sock_send_length', 'sock:sock_recv_length'] });
    try {
      expect(old.health().payloadTraced).toBe(false);
      expect(old.health().disabledPrograms.map((d) => d.program).sort()).toEqual(['link_recv', 'link_send']);
      const server = startAgent(wire.b, ['server', '--host', wire.bIp, '--port', '6006', '--conns', '3', '--recv', '12345', '--send', '54321', '--send-mode', 'sendfile']);
      try {
        await server.line(/^ready$/);
        const client = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', '6006', '--conns', '3', '--send', '12345', '--recv', '54321']);
        await client.done();
        await server.done();
      } finally {
        server.kill();
      }
      const link = await closedLink(6006, old, 3);
      expect(link.bytesSent).toBe(3 * 12345);
      expect(link.bytesReceived).toBe(3 * 54321);
      expect(link.client.process).toBe('python3');
      // Close-time counters are the figure here, not a correction of one.
      expect(old.health().corrections).toBe(0);
    } finally {
      await old.close();
    }
  });
});
