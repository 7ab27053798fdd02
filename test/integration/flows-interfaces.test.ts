// Interfaces that appear after start and match the pattern are attached and counted; deleting
// one leaves no error and no stale state.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFlowCollector, type FlowCollector } from '../../src/collector/flow-collector.js';
import { createHost, destroyAll, ip, type TestHost } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { udpExchange } from '../helpers/flows-traffic.js';

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

describePrivileged('flow interfaces that come and go', () => {
  let a: TestHost;
  let b: TestHost;
  let collector: FlowCollector;

  beforeAll(async () => {
    a = createHost('fa');
    b = createHost('fb');
    collector = await startFlowCollector({ interfaces: `${a.ns}:fdyn*`, pollIntervalMs: 500, activeTimeoutMs: 300, idleTimeoutMs: 60_000 });
  });

  afterAll(async () => {
    await collector?.close();
    destroyAll();
  });

  it('with no interface flag, attaches to the interface of the default route', () => {
    const g = createHost('fg');
    ip('-n', g.ns, 'link', 'add', 'fup0', 'type', 'veth', 'peer', 'name', 'fside0');
    ip('-n', g.ns, 'addr', 'add', '10.44.0.1/24', 'dev', 'fup0');
    ip('-n', g.ns, 'link', 'set', 'fup0', 'up');
    ip('-n', g.ns, 'route', 'add', 'default', 'via', '10.44.0.2', 'dev', 'fup0', 'onlink');
    const out = g.exec(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../helpers/flows-default-route.ts', import.meta.url))]);
    const health = JSON.parse(out) as { interfaces: { name: string }[]; errors: string[] };
    expect(health.interfaces.map((i) => i.name)).toEqual(['fup0']);
    expect(health.errors).toEqual([]);
  });

  it('refuses bad options with a clear error, and reports a missing namespace without stopping', async () => {
    await expect(startFlowCollector({ interfaces: 'eth0,bad name' })).rejects.toThrow(/"bad name" is not an interface name/);
    await expect(startFlowCollector({ interfaces: 'lo', sampling: 0 })).rejects.toThrow(/sampling must be/);
    const c = await startFlowCollector({ interfaces: 'fnosuchns:eth*' });
    try {
      expect(c.health().interfaces).toEqual([]);
      expect(c.health().errors.join('\n')).toMatch(/cannot list netns fnosuchns/);
    } finally {
      await c.close();
    }
  });

  it('starts with nothing to attach to, without error', () => {
    expect(collector.health()).toMatchObject({ interfaces: [], attachErrors: 0, errors: [] });
  });

  it('attaches a matching interface created after start within 2 s, and counts its traffic', async () => {
    ip('-n', a.ns, 'link', 'add', 'fdyn1', 'type', 'veth', 'peer', 'name', 'fpeer1', 'netns', b.ns);
    ip('-n', a.ns, 'link', 'add', 'fother1', 'type', 'veth', 'peer', 'name', 'fpeer2', 'netns', b.ns);
    ip('-n', a.ns, 'addr', 'add', '10.43.0.1/24', 'dev', 'fdyn1');
    ip('-n', b.ns, 'addr', 'add', '10.43.0.2/24', 'dev', 'fpeer1');
    for (const [h, dev] of [[a, 'fdyn1'], [b, 'fpeer1'], [a, 'fother1']] as const) ip('-n', h.ns, 'link', 'set', dev, 'up');
    const took = await waitFor('fdyn1 to be attached', () => collector.health().interfaces.some((i) => i.name === 'fdyn1'), 3000);
    expect(took).toBeLessThan(2000);
    expect(collector.health().interfaces.map((i) => i.name)).toEqual(['fdyn1']); // fother1 does not match
    expect(await udpExchange(a, b, '10.43.0.2', 4300, 25, 200, 43000)).toBe(25);
    collector.drainNow();
    const f = collector.records().find((r) => r.interface === 'fdyn1' && r.direction === 'egress' && r.protocol === 'udp' && r.srcPort === 43000);
    expect(f).toMatchObject({ packets: 25, payloadBytes: 25 * 200, netns: a.ns });
  });

  it('forgets a deleted interface cleanly', async () => {
    ip('-n', a.ns, 'link', 'del', 'fdyn1');
    await waitFor('fdyn1 to be forgotten', () => collector.health().interfaces.length === 0, 3000);
    const before = collector.health().drains;
    await waitFor('two more drains', () => collector.health().drains >= before + 2, 3000);
    const h = collector.health();
    expect(h).toMatchObject({ interfaces: [], attachErrors: 0, errors: [] });
    // What it counted stays in the table (its history), under its name.
    expect(collector.records().some((r) => r.interface === 'fdyn1')).toBe(true);
    // A new interface with the same name is a new attachment, counted afresh.
    ip('-n', a.ns, 'link', 'add', 'fdyn1', 'type', 'veth', 'peer', 'name', 'fpeer3', 'netns', b.ns);
    ip('-n', a.ns, 'link', 'set', 'fdyn1', 'up');
    await waitFor('the new fdyn1 to be attached', () => collector.health().interfaces.some((i) => i.name === 'fdyn1'), 3000);
    expect(collector.health().errors).toEqual([]);
  });
});
