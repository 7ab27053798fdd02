// Local pairs through the direct-mapped slots (a client's tuple in link_tuple_slots, a server view
// in link_servers instead of an entry) and through the hash maps when a slot is taken: either way
// each connection counts once, with the processes of both ends.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { createWire, destroyAll, type TestHost, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { linkBetween, PYTHON, waitForLinks, warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector } from '../../src/collector/link-collector.js';
import type { LinkRecord } from '../../src/protocol/index.js';

// Accepts `n` connections, answers each one's byte, then waits for each to close (with `first`,
// closes each at once instead). With `defer` (TCP_DEFER_ACCEPT) the kernel makes a connection's
// server socket only when its first data arrives: until then its client is established and its
// tuple stays published.
const SERVER = `
import socket, sys
ip, port, n, defer, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == '1', sys.argv[5] == '1'
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if defer:
    l.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 30)
l.bind((ip, port))
l.listen(n)
l.settimeout(20)
print('ready', flush=True)
conns = []
for _ in range(n):
    c, _ = l.accept()
    c.settimeout(20)
    assert c.recv(1) == b'x'
    c.sendall(b'y')
    if first:
        c.close()
    else:
        conns.append(c)
for c in conns:
    assert c.recv(1) == b''
    c.close()
`;

// Optionally opens a holder connection to holdPort that sends nothing yet, then n connections to
// port, one byte each way; prints "open" and waits for a line on stdin; closes the n, then the
// holder exchanges its byte and closes.
const CLIENT = `
import socket, sys, time
ip, hport, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
h = socket.create_connection((ip, hport), timeout=20) if hport else None
if h:
    time.sleep(0.1)
cs = []
for _ in range(n):
    c = socket.create_connection((ip, port), timeout=20)
    c.sendall(b'x')
    assert c.recv(1) == b'y'
    cs.append(c)
print('open', flush=True)
sys.stdin.readline()
for c in cs:
    c.close()
if h:
    h.sendall(b'x')
    assert h.recv(1) == b'y'
    h.close()
print('done', flush=True)
`;

/** A python process in `host` whose output lines can be awaited. */
function python(host: TestHost, code: string, args: (string | number)[]) {
  const proc: ChildProcess = host.spawn(PYTHON, ['-c', code, ...args.map(String)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  return {
    proc,
    async line(text: string): Promise<void> {
      const until = Date.now() + 20_000;
      while (!out.split('\n').includes(text)) {
        if (proc.exitCode !== null || Date.now() > until) throw new Error(`python ${args.join(' ')}: no "${text}" line; stderr: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async done(): Promise<void> {
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
      if (code !== 0) throw new Error(`python ${args.join(' ')} ended with ${String(code)}; stderr: ${err}`);
    },
    kill: () => proc.kill('SIGKILL'),
  };
}

describePrivileged('links: local pairs through slots and hash maps', () => {
  let wire: Wire;

  beforeAll(() => {
    wire = createWire(35);
    warmUp(wire.a, wire.bIp);
  });

  afterAll(() => destroyAll());

  it('with one slot of each kind taken, counts every local pair once with the processes of both ends', async () => {
    const N = 20;
    const live = await startLinkCollector({ pollIntervalMs: 100, mapSizes: { slots: 1 } });
    // Reads nothing until all closed: a pair the kernel failed to link would show as a second
    // link (this reader never saw the client open, so it cannot pair the two ends itself).
    const closedOnly = await startLinkCollector({ pollIntervalMs: 3_600_000, mapSizes: { slots: 1 } });
    const held = python(wire.b, SERVER, [wire.bIp, 6101, 1, 1, 0]);
    const server = python(wire.b, SERVER, [wire.bIp, 6102, N, 0, 0]);
    let client: ReturnType<typeof python> | undefined;
    try {
      await held.line('ready');
      await server.line('ready');
      // The holder's tuple takes the only tuple slot until its server socket exists: the N
      // clients publish theirs in link_tuples. The first of their servers takes the only server
      // slot, the others get entries.
      client = python(wire.a, CLIENT, [wire.bIp, 6101, 6102, N]);
      await client.line('open');
      const open = await waitForLinks(live, (links) => {
        const l = linkBetween(links, wire.aIp, wire.bIp, 6102)[0];
        return l && l.connections.active === N && l.server.pid !== undefined ? l : undefined;
      });
      expect(open.client).toMatchObject({ pid: client.proc.pid, process: 'python3' });
      expect(open.server).toMatchObject({ pid: server.proc.pid, process: 'python3' });
      client.proc.stdin!.write('close\n');
      await client.line('done');
      await server.done();
      await held.done();
      const settled = (port: number, n: number) => (links: LinkRecord[]) => {
        const l = linkBetween(links, wire.aIp, wire.bIp, port)[0];
        return l && l.connections.active === 0 && l.connections.closed === n ? l : undefined;
      };
      // The holder's server socket came with its first byte and found its tuple in the slot.
      for (const [port, n, pid] of [[6102, N, server.proc.pid], [6101, 1, held.proc.pid]] as const) {
        for (const collector of [live, closedOnly]) {
          const l = await waitForLinks(collector, settled(port, n));
          expect(l).toMatchObject({ bytesSent: n, bytesReceived: n, connections: { active: 0, closed: n, failed: 0 } });
          expect(l.client).toMatchObject({ pid: client.proc.pid, process: 'python3' });
          expect(l.server).toMatchObject({ pid, process: 'python3' });
          // No server view counted as if its client were elsewhere: one link per port.
          expect(collector.records().filter((r) => r.server.port === port)).toHaveLength(1);
          const h = collector.health();
          expect(h.tupleMapFull).toBe(0);
          expect(h.mapFullLost).toBe(0);
          expect(h.ringBufferLost).toBe(0);
        }
      }
    } finally {
      for (const p of [client, server, held]) p?.kill();
      await live.close();
      await closedOnly.close();
    }
  });

  it('gives a local pair whose server view is in its slot its server process, open and closed, whichever end closes first', async () => {
    const collector = await startLinkCollector({ pollIntervalMs: 100 });
    // Reads nothing until all closed: the server's process can only come from the kernel's fold
    // (the client's close takes it from the slot, or the server's close hands it over).
    const closedOnly = await startLinkCollector({ pollIntervalMs: 3_600_000 });
    try {
      for (const [port, serverFirst] of [[6103, false], [6104, true]] as const) {
        const server = python(wire.b, SERVER, [wire.bIp, port, 1, 0, serverFirst ? 1 : 0]);
        let client: ReturnType<typeof python> | undefined;
        try {
          await server.line('ready');
          client = python(wire.a, CLIENT, [wire.bIp, 0, port, 1]);
          await client.line('open');
          // Open (and with the server closed first, still open on the client's side).
          const l = await waitForLinks(collector, (links) => {
            const found = linkBetween(links, wire.aIp, wire.bIp, port)[0];
            return found && found.connections.active === 1 && found.server.pid !== undefined ? found : undefined;
          });
          expect(l.server).toMatchObject({ pid: server.proc.pid, process: 'python3' });
          expect(l.client).toMatchObject({ pid: client.proc.pid, process: 'python3' });
          if (serverFirst) await server.done();
          client.proc.stdin!.write('close\n');
          await client.line('done');
          await server.done();
          const closed = await waitForLinks(closedOnly, (links) => {
            const found = linkBetween(links, wire.aIp, wire.bIp, port)[0];
            return found && found.connections.closed === 1 ? found : undefined;
          });
          expect(closed).toMatchObject({ bytesSent: 1, bytesReceived: 1, connections: { active: 0, closed: 1, failed: 0 } });
          expect(closed.server).toMatchObject({ pid: server.proc.pid, process: 'python3' });
          for (const c of [collector, closedOnly]) expect(c.records().filter((r) => r.server.port === port)).toHaveLength(1);
        } finally {
          client?.kill();
          server.kill();
        }
      }
    } finally {
      await collector.close();
      await closedOnly.close();
    }
  });
});
