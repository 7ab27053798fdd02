// A real weft-collector (privilege separation on) names flows by DNS through its resolver process:
// a client in a test namespace looks a name up (answered by a test DNS server), dns.bpf.c in the
// root process copies the answer off the wire, the resolver process (nobody, no capabilities)
// parses it, and the flow to that address reaches a subscribed client carrying the name. The
// resolver process killed, the collector keeps serving, starts a new one, and a name looked up
// afterwards reaches the table the same way.
import { afterAll, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftClient } from '../../src/cli/client.js';
import { LiveView } from '../../src/cli/live-view.js';
import { noCapabilities, processPrivileges } from '../../src/collector/privsep/process-status.js';
import type { DeltaMessage, FlowRecord, SnapshotMessage } from '../../src/protocol/index.js';
import { startCollector } from '../helpers/collector-process.js';
import { createWire, destroyAll, ip } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';
import { startNamed, stop, TCP_CLIENT, TCP_SERVER } from './resolve-fixtures/named-process.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-resolver-collector-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await stop(c);
  destroyAll();
  rmSync(dir, { recursive: true, force: true });
});

const ONE = '10.75.5.1';
const TWO = '10.75.5.2';
const PORT = 8075;

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describePrivileged('weft-collector: DNS names through the resolver process', () => {
  it('names a flow by the answer the resolver process parsed, and again after that process was killed', async () => {
    const w = createWire(75);
    for (const a of [ONE, TWO]) {
      ip('-n', w.b.ns, 'addr', 'add', `${a}/32`, 'dev', w.bIf);
      ip('-n', w.a.ns, 'route', 'add', `${a}/32`, 'via', w.bIp);
    }
    const answers = Object.fromEntries(
      [
        ['one.weft.test', ONE],
        ['two.weft.test', TWO],
      ].map(([name, addr]) => [name, encodeResponse({ question: { name: name!, type: 'A' }, answers: [{ name: name!, type: 'A', ttl: 60, data: addr! }] }).toString('hex')]),
    );
    // Answers by question name, with the query's id.
    const dnsServer = `const s = require('dgram').createSocket('udp4'); const answers = ${JSON.stringify(answers)};
s.on('message', (q, r) => { let o = 12; const l = []; while (o < q.length && q[o] !== 0) { l.push(q.subarray(o + 1, o + 1 + q[o]).toString()); o += 1 + q[o]; }
  const hex = answers[l.join('.')]; if (!hex) return; const b = Buffer.from(hex, 'hex'); q.copy(b, 0, 0, 2); s.send(b, r.port, r.address); });
s.bind(53, '${w.bIp}', () => console.log('ready'));`;
    children.push((await startNamed(w.b, 'weftdns75', dnsServer)).child);
    for (const a of [ONE, TWO]) children.push((await startNamed(w.b, 'weftsrv75', TCP_SERVER(a, PORT))).child);
    const lookup = async (name: string): Promise<string> => {
      const p = await startNamed(w.a, 'weftlookup75', `const r = new (require('dns').promises.Resolver)({ timeout: 2000, tries: 2 }); r.setServers(['${w.bIp}']);
r.resolve4('${name}').then((a) => { console.log('answer ' + a[0]); console.log('ready'); }, (e) => { console.error(e.message); process.exit(1); });`);
      children.push(p.child);
      return p.lines.find((l) => l.startsWith('answer '))!.slice(7);
    };

    const tokenFile = join(dir, 'token');
    const c = startCollector(['--listen', '127.0.0.1:0', '--token-file', tokenFile, '--interfaces', `${w.b.ns}:${w.bIf}`, '--figures-interval', '200ms']);
    let client: WeftClient | undefined;
    try {
      const url = await c.wsUrl();
      const first = Number((await c.line(/resolver process (\d+) parses DNS answers/))[1]);
      expect(processPrivileges(first).uids[0]).toBe(65534);
      expect(noCapabilities(processPrivileges(first).capEff)).toBe(true);
      type Wiring = { dnsInterfaces: string[]; dnsAnswers: { names: number }; resolverProcess: { pid?: number; starts: number } };
      const health = async (): Promise<Wiring> => ((await (await fetch(url.replace('ws://', 'http://').replace('/ws', '/healthz'))).json()) as { components: { wiring: Wiring } }).components.wiring;
      // The DNS program follows the flows' interface (looked at every second).
      await until('dns.bpf.c on the interface', async () => ((await health()).dnsInterfaces.length > 0 ? true : undefined));

      client = await WeftClient.connect({ server: url, token: readFileSync(tokenFile, 'utf8').trim() });
      const view = new LiveView<FlowRecord>();
      client.onMessage((m) => {
        if (m.type === 'snapshot' || m.type === 'delta') view.apply(m as SnapshotMessage<FlowRecord> | DeltaMessage<FlowRecord>);
      });
      client.subscribe('f', { table: 'flows' });
      const named = (addr: string) => view.records().find((f) => f.dst === addr && f.dstPort === PORT && f.dstEndpoint?.dns !== undefined);

      expect(await lookup('one.weft.test')).toBe(ONE);
      await until('the answer parsed', async () => ((await health()).dnsAnswers.names >= 1 ? true : undefined));
      children.push((await startNamed(w.a, 'weftcli75', TCP_CLIENT(ONE, PORT))).child);
      expect((await until('flow to one, named', () => named(ONE))).dstEndpoint!.dns).toBe('one.weft.test');

      process.kill(first, 'SIGKILL');
      const second = await until('a new resolver process', async () => {
        const p = (await health()).resolverProcess.pid;
        return p !== undefined && p !== first ? p : undefined;
      });
      await c.line(new RegExp(`resolver process ${second} parses DNS answers`));
      expect(c.out()).toMatch(new RegExp(`resolver process ${first} ended \\(SIGKILL\\)`));
      expect(noCapabilities(processPrivileges(second).capEff)).toBe(true);
      expect((await health()).resolverProcess).toMatchObject({ pid: second, starts: 2 });

      expect(await lookup('two.weft.test')).toBe(TWO);
      await until('the second answer parsed', async () => ((await health()).dnsAnswers.names >= 2 ? true : undefined));
      children.push((await startNamed(w.a, 'weftcli75', TCP_CLIENT(TWO, PORT))).child);
      expect((await until('flow to two, named', () => named(TWO))).dstEndpoint!.dns).toBe('two.weft.test');

      c.p.kill('SIGTERM');
      expect(await c.exited).toBe(0);
      expect(() => process.kill(second, 0)).toThrow();
    } finally {
      await client?.close().catch(() => undefined);
      c.p.kill('SIGKILL');
    }
  });
});
