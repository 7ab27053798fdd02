// Exact application bytes per link, over real sockets between test hosts: plain send/recv,
// sendfile, partial writes, splice on the receiving side, IPv6 and loopback in one namespace.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { createHost, createWire, destroyAll, retransmittedSegments, type TestHost, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { linkBetween, startAgent, waitForLinks, warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { enableStats } from '../../src/collector/kernel/index.js';

const A = 100_003; // client → server, per connection
const B = 250_011; // server → client
const N = 4;

describePrivileged('links: exact bytes', () => {
  let wire: Wire;
  let lo: TestHost;
  let collector: LinkCollector;
  let clientSide: LinkCollector;

  beforeAll(async () => {
    wire = createWire(31);
    lo = createHost('wl');
    warmUp(wire.a, wire.bIp);
    warmUp(wire.a, wire.bIp6);
    // No tail-loss probes: on a busy CI machine a late ACK would otherwise count as a retransmit.
    for (const h of [wire.a, wire.b, lo]) h.exec('sysctl', ['-q', '-w', 'net.ipv4.tcp_early_retrans=0']);
    collector = await startLinkCollector({ pollIntervalMs: 200 });
    // Watches only the client's namespace: its correction count is these connections' alone,
    // whatever else the host does meanwhile.
    clientSide = await startLinkCollector({ pollIntervalMs: 200, onlyNetns: statSync(wire.a.path).ino });
  });

  afterAll(async () => {
    await collector?.close();
    await clientSide?.close();
    destroyAll();
  });

  async function exchange(opts: {
    serverHost: TestHost;
    clientHost: TestHost;
    serverIp: string;
    clientIp: string;
    port: number;
    /** Where the server listens, when not serverIp (e.g. `::`, dual stack). */
    listenIp?: string;
    sendMode?: string;
    recvMode?: string;
    clientRecvMode?: string;
    /** The server closes each connection as soon as it answered, before its client hangs up. */
    serverClosesFirst?: boolean;
  }): Promise<number> {
    const server = startAgent(opts.serverHost, [
      'server', '--host', opts.listenIp ?? opts.serverIp, '--port', String(opts.port), '--conns', String(N),
      '--recv', String(A), '--send', String(B), '--send-mode', opts.sendMode ?? 'send', '--recv-mode', opts.recvMode ?? 'recv',
      ...(opts.serverClosesFirst ? ['--close-first'] : []),
    ]);
    let clientPid: number | undefined;
    const hosts = [...new Set([opts.clientHost, opts.serverHost])];
    const resentSoFar = () => hosts.reduce((n, h) => n + retransmittedSegments(h), 0);
    const resentBefore = resentSoFar();
    try {
      await server.line(/^ready$/);
      const client = startAgent(opts.clientHost, [
        'client', '--host', opts.serverIp, '--port', String(opts.port), '--conns', String(N),
        '--send', String(A), '--recv', String(B), '--recv-mode', opts.clientRecvMode ?? 'recv',
      ]);
      clientPid = client.proc.pid;
      try {
        await client.done();
        await server.done();
      } finally {
        client.kill();
      }
      const link = await waitForLinks(collector, (links) => {
        const l = linkBetween(links, opts.clientIp, opts.serverIp, opts.port);
        return l.length === 1 && l[0]!.connections.closed === N && l[0]!.connections.active === 0 ? l[0] : undefined;
      });
      expect(link.bytesSent).toBe(A * N);
      expect(link.bytesReceived).toBe(B * N);
      expect(link.connections).toEqual({ active: 0, closed: N, failed: 0 });
      expect(link.protocol).toBe('tcp');
      // `ip netns exec` execs the agent, so its pid is the one spawned here.
      expect(link.client.pid).toBe(clientPid);
      expect(link.client.process).toBe('python3');
      expect(link.server.process).toBe('python3');
      expect(link.server.port).toBe(opts.port);
      expect(link.client.netnsInode).toBe(statSync(opts.clientHost.path).ino);
      expect(link.server.netnsInode).toBe(statSync(opts.serverHost.path).ino);
      expect(link.server.pid).toBe(server.proc.pid);
      // What the kernel resent: none on an idle machine, but a busy one can drop a segment off a
      // full veth backlog. A retransmission event can carry several segments, never fewer than one.
      const resent = resentSoFar() - resentBefore;
      if (resent === 0) expect(link.retransmits).toBe(0);
      else expect(link.retransmits).toBeLessThanOrEqual(resent);
      expect(link.rttMs).toBeGreaterThan(0);
      // Only one link between these addresses: the server's socket did not make a second one.
      expect(collector.records().filter((l) => l.server.port === opts.port && [l.client.ip, l.server.ip].includes(opts.serverIp))).toHaveLength(1);
      return server.proc.pid!;
    } finally {
      server.kill();
    }
  }

  it('counts A×n and B×n once, with roles, port and the client process', async () => {
    await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5001 });
    expect(clientSide.health().corrections).toBe(0);
  });

  it("reports each program's runs and run time while the kernel counts them, and the runs it skipped", async () => {
    const stats = enableStats();
    try {
      const before = clientSide.health().programs;
      await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5010 });
      const after = clientSide.health().programs;
      // Every program of the host's sockets runs, traced namespace or not: at least these connections'.
      const ran = (name: string): number => after[name]!.runs! - (before[name]?.runs ?? 0);
      expect(ran('link_state')).toBeGreaterThanOrEqual(3 * N); // SYN_SENT, ESTABLISHED, CLOSE
      expect(ran('link_send')).toBeGreaterThanOrEqual(N);
      expect(ran('link_recv')).toBeGreaterThanOrEqual(N);
      expect(after.link_state!.runTimeNs).toBeGreaterThan(0);
      for (const p of Object.values(after)) expect(p.missed).toBeGreaterThanOrEqual(0);
    } finally {
      stats.close();
    }
  });

  it('counts sendfile and partial writes on the server exactly', async () => {
    await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5002, sendMode: 'sendfile' });
    await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5003, sendMode: 'partial' });
    expect(clientSide.health().corrections).toBe(0);
  });

  it('counts splice on the receiving side through the close-time correction', async () => {
    await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5004, recvMode: 'splice', clientRecvMode: 'splice' });
    const link = await waitForLinks(clientSide, (links) => {
      const l = linkBetween(links, wire.aIp, wire.bIp, 5004)[0];
      return l && l.connections.closed === N ? l : undefined;
    });
    expect(link.bytesSent).toBe(A * N);
    expect(link.bytesReceived).toBe(B * N);
    // Splice reads never pass recvmsg: each client's receiving direction came from the kernel's counters.
    expect(clientSide.health().corrections).toBe(N);
  });

  it('gives a closed local pair its server process whichever end closes first', async () => {
    // Reads nothing until all closed: the server process can only come from the kernel's folds
    // (a client closing first takes it from the server's entry, a server closing first hands it
    // over), never from an open server view.
    const foldsOnly = await startLinkCollector({ pollIntervalMs: 3_600_000 });
    const corrections = clientSide.health().corrections;
    try {
      const clientFirst = await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5008 });
      const serverFirst = await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5009, serverClosesFirst: true });
      foldsOnly.pollNow();
      const links = foldsOnly.records();
      for (const [port, pid] of [[5008, clientFirst], [5009, serverFirst]] as const) {
        const [l] = linkBetween(links, wire.aIp, wire.bIp, port);
        expect(l).toMatchObject({ bytesSent: A * N, bytesReceived: B * N, connections: { active: 0, closed: N, failed: 0 } });
        expect(l!.server).toMatchObject({ pid, process: 'python3' });
      }
    } finally {
      await foldsOnly.close();
    }
    // Exact without the socket's counters: our FIN and the peer's were placed right either way.
    clientSide.pollNow();
    expect(clientSide.health().corrections).toBe(corrections);
  });

  it('works over IPv6', async () => {
    await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp6, clientIp: wire.aIp6, port: 5005 });
  });

  it('shows an IPv4 client of a dual-stack server as IPv4, counted once', async () => {
    await exchange({ serverHost: wire.b, clientHost: wire.a, serverIp: wire.bIp, clientIp: wire.aIp, port: 5007, listenIp: '::' });
  });

  it('works over loopback inside one namespace', async () => {
    await exchange({ serverHost: lo, clientHost: lo, serverIp: '127.0.0.1', clientIp: '127.0.0.1', port: 5006 });
  });
});
