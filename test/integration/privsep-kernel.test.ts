// Privilege separation over the real kernel tables: the processes that parse network input (the
// server; the resolver, for DNS answers and Kubernetes API responses) run as nobody with no
// capabilities in any set of any of their threads, an empty bounding set and no_new_privs, and the
// server does not hold the parent's sockets; the parent keeps the programs. Links between
// test hosts still reach a subscribed client live. A killed server process is replaced on the same
// port with the tables intact, and SIGTERM still closes clients with 1001 and leaves no TC state.
import { afterAll, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftClient } from '../../src/cli/client.js';
import { LiveView } from '../../src/cli/live-view.js';
import { noCapabilities, processPrivileges } from '../../src/collector/privsep/process-status.js';
import { SERVER_YOUNG_GENERATION } from '../../src/collector/privsep/supervisor.js';
import { CloseCode, type DeltaMessage, type LinkRecord, type SnapshotMessage } from '../../src/protocol/index.js';
import { startCollector, waitForTcLinks } from '../helpers/collector-process.js';
import { createWire, destroyAll } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { expectUnprivileged } from '../helpers/unprivileged.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-privsep-'));
afterAll(() => {
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

const PORT = 7091;

/** PIDs of the processes holding the listening socket on `port`. */
function listeners(port: number): number[] {
  const out = execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

async function watchLinks(url: string, token: string, filter: { port: number; name?: string }): Promise<{ client: WeftClient; view: LiveView<LinkRecord>; snapshots: () => number; closed: Promise<number> }> {
  const client = await WeftClient.connect({ server: url, token });
  const view = new LiveView<LinkRecord>();
  let snapshots = 0;
  client.onMessage((m) => {
    if (m.type === 'snapshot') snapshots += 1;
    if (m.type === 'snapshot' || m.type === 'delta') view.apply(m as SnapshotMessage<LinkRecord> | DeltaMessage<LinkRecord>);
  });
  client.subscribe('s', { table: 'links', filter });
  const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
  return { client, view, snapshots: () => snapshots, closed };
}

async function until<T>(what: string, fn: () => T | undefined, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen within ${tries * 100} ms`);
}

describePrivileged('weft-collector privilege separation', () => {
  it('serves live kernel tables from a process without privileges, survives its death, and stops cleanly', async () => {
    const wire = createWire(91);
    const tokenFile = join(dir, 'token');
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--interfaces', `${wire.b.ns}:${wire.bIf}`, '--figures-interval', '200ms']);
    const parent = c.p.pid!;
    let srv: ChildProcess | undefined;
    let cli: ChildProcess | undefined;
    try {
      const url = await c.wsUrl();
      const port = Number(new URL(url).port);
      const first = Number((await c.line(/serving from process (\d+) as uid 65534/))[1]);
      expect(first).not.toBe(parent);
      expectUnprivileged(first);
      // Its own young generation comes after the flags it inherits: node takes the last one.
      const argv = readFileSync(`/proc/${first}/cmdline`, 'utf8').split('\0');
      expect(argv.filter((a) => a.startsWith('--max-semi-space-size')).at(-1)).toBe(SERVER_YOUNG_GENERATION);
      const resolverPid = Number((await c.line(/resolver process (\d+) parses DNS answers, Kubernetes API responses and reverse DNS, as uid 65534/))[1]);
      expect([parent, first]).not.toContain(resolverPid);
      expectUnprivileged(resolverPid);
      // The parent keeps its privileges and the programs, and takes no connections itself.
      const p = processPrivileges(parent);
      expect(p.uids[0]).toBe(0);
      expect(noCapabilities(p.capEff)).toBe(false);
      expect(listeners(port)).toEqual([first]);
      const ifindex = wire.b.exec('cat', [`/sys/class/net/${wire.bIf}/ifindex`]).trim();
      const tcLinks = await waitForTcLinks(parent, ifindex);
      expect(tcLinks.length).toBeGreaterThanOrEqual(2);
      const health = (await (await fetch(url.replace('ws://', 'http://').replace('/ws', '/healthz'))).json()) as { components: { server: Record<string, unknown>; privsep: Record<string, unknown>; wiring: { resolverProcess: Record<string, unknown> } } };
      expect(health.components.server).toMatchObject({ pid: first, uid: 65534, capEff: '0000000000000000', capBnd: '0000000000000000', noNewPrivs: true });
      expect(health.components.privsep).toMatchObject({ parentPid: parent, serverPid: first, restarts: 0 });
      expect(health.components.wiring.resolverProcess).toMatchObject({ pid: resolverPid, starts: 1, rejected: 0 });

      const token = readFileSync(tokenFile, 'utf8').trim();
      const w = await watchLinks(url, token, { port: PORT, name: wire.bIp });
      // An echo server on b; a client on a sends 1,000 bytes, then (told to) 3,000 more on a second connection.
      srv = wire.b.spawn(process.execPath, ['-e', `require('net').createServer((s) => s.pipe(s)).listen(${PORT}, '${wire.bIp}', () => console.log('ready'))`]);
      await new Promise<void>((resolve) => srv!.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
      cli = wire.a.spawn(
        process.execPath,
        ['-e', `const net = require('net'); const send = (n) => { let got = 0; const s = net.connect(${PORT}, '${wire.bIp}', () => s.write(Buffer.alloc(n))); s.on('data', (d) => { got += d.length; if (got === n) { s.end(); console.log('echoed ' + n); } }); }; send(1000); process.stdin.once('data', () => send(3000)); setTimeout(() => process.exit(0), 60000);`],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let said = '';
      cli.stdout!.on('data', (d) => (said += d));
      await until('first transfer', () => (said.includes('echoed 1000') ? true : undefined));
      await until(`link with 1,000 bytes each way in ${JSON.stringify(w.view.records())}`, () => w.view.records().find((r) => r.bytesSent === 1000 && r.bytesReceived === 1000));
      cli.stdin!.write('go\n');
      await until('second transfer', () => (said.includes('echoed 3000') ? true : undefined));
      const link = await until(`link with 4,000 bytes each way in ${JSON.stringify(w.view.records())}`, () => w.view.records().find((r) => r.bytesSent === 4000 && r.bytesReceived === 4000));
      expect(link.server).toMatchObject({ ip: wire.bIp, port: PORT });
      // The clients of the server process (this test's sockets, seconds old) are the collector's own: not in the table.
      const own = await watchLinks(url, token, { port });
      await until('a snapshot of links on the collector port', () => (own.snapshots() > 0 ? true : undefined));
      expect(own.view.records()).toEqual([]);
      await own.client.close();

      // The server process dies: its clients lose the socket, a new one serves the same port and tables.
      process.kill(first, 'SIGKILL');
      expect(await w.closed).toBe(1006);
      const second = Number((await c.line(/server process (\d+) serving again on port (\d+)/))[1]);
      expect(c.out()).toMatch(new RegExp(`server process ${first} ended \\(SIGKILL\\); starting a new one`));
      expect(second).not.toBe(first);
      expectUnprivileged(second);
      expect(listeners(port)).toEqual([second]);
      const again = await watchLinks(url, token, { port: PORT, name: wire.bIp });
      const kept = await until('the link after the restart', () => again.view.records().find((r) => r.id === link.id));
      expect([kept.bytesSent, kept.bytesReceived]).toEqual([4000, 4000]);

      c.p.kill('SIGTERM');
      expect(await again.closed).toBe(CloseCode.GoingAway);
      expect(again.client.closeInfo?.reason).toMatch(/SIGTERM/);
      expect(await c.exited).toBe(0);
      expect(() => process.kill(second, 0)).toThrow();
      expect(() => process.kill(resolverPid, 0)).toThrow();
      const left = (JSON.parse(execFileSync('bpftool', ['link', 'show', '-j'], { encoding: 'utf8' })) as { id: number }[]).map((l) => String(l.id));
      expect(left.filter((id) => tcLinks.includes(id))).toEqual([]);
      expect(wire.b.exec('tc', ['qdisc', 'show', 'dev', wire.bIf])).not.toMatch(/clsact/);
    } finally {
      c.p.kill('SIGKILL');
      for (const child of [cli, srv]) child?.kill();
    }
  });
});
