// `weft-collector` over the real kernel: it starts on a test host's interface, serves a link
// between test hosts with exact bytes (over the socket and through `weft links --json`), reports
// the tables' real map fill and losses on /healthz, and on SIGTERM closes its clients with 1001
// and leaves no TC programs behind.
import { afterAll, expect, it } from 'vitest';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll } from '../helpers/netns.js';
import { startCollector, waitForTcLinks } from '../helpers/collector-process.js';
import { WeftClient } from '../../src/cli/client.js';
import { CloseCode, type LinkRecord, type SnapshotMessage, type DeltaMessage } from '../../src/protocol/index.js';
import { LiveView } from '../../src/cli/live-view.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-kernel-'));
afterAll(() => {
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

describePrivileged('weft-collector on the kernel', () => {
  it('serves a transfer between test hosts with exact bytes and detaches everything on SIGTERM', async () => {
    const wire = createWire(53);
    const tokenFile = join(dir, 'token');
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--interfaces', `${wire.b.ns}:${wire.bIf}`, '--figures-interval', '200ms']);
    const p = c.p;
    const exited = c.exited;
    let srv: ChildProcess | undefined;
    let cli: ChildProcess | undefined;
    try {
      const url = await c.wsUrl();
      // The TC links the collector holds on the test interface, from its own file descriptors.
      const ifindex = wire.b.exec('cat', [`/sys/class/net/${wire.bIf}/ifindex`]).trim();
      const tcLinks = await waitForTcLinks(p.pid!, ifindex);
      expect(tcLinks.length).toBeGreaterThanOrEqual(2);

      const client = await WeftClient.connect({ server: url, token: readFileSync(tokenFile, 'utf8').trim() });
      const view = new LiveView<LinkRecord>();
      client.onMessage((m) => (m.type === 'snapshot' || m.type === 'delta') && view.apply(m as SnapshotMessage<LinkRecord> | DeltaMessage<LinkRecord>));
      client.subscribe('s', { table: 'links', filter: { port: 7053, name: wire.bIp } });
      // 12,345 bytes up, 54,321 down, and the connection stays open while the test looks.
      srv = wire.b.spawn(process.execPath, ['-e', `require('net').createServer((s) => { s.on('data', () => {}); s.write(Buffer.alloc(54321)); }).listen(7053, '${wire.bIp}', () => console.log('ready'))`]);
      await new Promise<void>((resolve) => srv!.stdout!.on('data', (d) => String(d).includes('ready') && resolve()));
      cli = wire.a.spawn(process.execPath, ['-e', `let n = 0; const s = require('net').connect(7053, '${wire.bIp}', () => s.write(Buffer.alloc(12345))); s.on('data', (d) => { n += d.length; if (n === 54321) console.log('received'); }); setTimeout(() => process.exit(0), 60000);`]);
      await new Promise<void>((resolve) => cli!.stdout!.on('data', (d) => String(d).includes('received') && resolve()));
      let found: LinkRecord | undefined;
      for (let i = 0; i < 150; i++) {
        found = view.records().find((r) => r.bytesSent === 12345 && r.bytesReceived === 54321);
        if (found) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(found, `links seen: ${JSON.stringify(view.records())}\ncollector said:\n${c.out()}`).toBeDefined();
      expect(found!.server).toMatchObject({ ip: wire.bIp, port: 7053 });

      // The same link through `weft links --json`, and the tables' own health on /healthz.
      const weft = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/weft.ts', 'links', '--json', '--port', '7053', '--name', wire.bIp, '--server', url, '--token-file', tokenFile], { encoding: 'utf8' });
      expect(weft.stderr).toBe('');
      const printed = JSON.parse(weft.stdout) as LinkRecord[];
      expect(printed.map((r) => [r.server.ip, r.server.port, r.bytesSent, r.bytesReceived])).toEqual([[wire.bIp, 7053, 12345, 54321]]);
      // Health reaches the server process on a cadence (half a second): read until it shows the entry.
      let health = { components: {} } as { components: { links: Record<string, any>; flows: Record<string, any> } };
      for (let i = 0; i < 30 && !(health.components.links?.mapFill?.entries >= 1); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        health = (await (await fetch(url.replace('ws://', 'http://').replace('/ws', '/healthz'))).json()) as typeof health;
      }
      expect(health.components.links.mapFill.capacity).toBeGreaterThan(0);
      expect(health.components.links.mapFill.entries).toBeGreaterThanOrEqual(1);
      expect(typeof health.components.links.ringBufferLost).toBe('number');
      expect(health.components.flows.interfaces.map((i: { name: string }) => i.name)).toContain(wire.bIf);

      const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
      p.kill('SIGTERM');
      expect(await closed).toBe(CloseCode.GoingAway);
      expect(await exited).toBe(0);
      const left = (JSON.parse(execFileSync('bpftool', ['link', 'show', '-j'], { encoding: 'utf8' })) as { id: number }[]).map((l) => String(l.id));
      expect(left.filter((id) => tcLinks.includes(id))).toEqual([]);
      expect(wire.b.exec('tc', ['qdisc', 'show', 'dev', wire.bIf])).not.toMatch(/clsact/);
    } finally {
      p.kill('SIGKILL');
      for (const child of [cli, srv]) child?.kill();
    }
  });
});
