// The built plugin in a real browser, against a real collector watching real traffic between two
// test hosts. The page does not import src/: it loads dist/module.js as AMD with Grafana's shared
// packages from their npm builds, renders the editors from the `plugin` export and runs live
// queries through a stand-in for Grafana's data source proxy, then directly with a ticket.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { startAgent, warmUp } from '../helpers/links-traffic.js';
import { startLinkCollector, type LinkCollector } from '../../src/collector/link-collector.js';
import { runCollector, type RunningCollector } from '../../src/collector/collector.js';
import { toConfig } from '../../src/collector/config.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { FlowRecord, KernelFeatures } from '../../src/protocol/index.js';
import { startGrafanaProxy, type GrafanaProxy } from './support/grafana-proxy.js';
import { buildShared, openPluginPage, pageHandler, type PluginPage, type Served } from './support/plugin-page.js';

const TOKEN = 'e2e-plugin-token-61';
const SUBNET = 61;
const A = 12_345; // client → server, per connection
const B = 54_321; // server → client
const N = 2;
const OUTPUT = 'test/e2e/output';


const FEATURES: KernelFeatures = { kernelRelease: 'e2e', btf: true, ringbuf: true, tcx: true, bpfStats: false, tracepoints: {}, kprobes: false };

describePrivileged('plugin in a real browser', () => {
  let wire: Wire;
  let links: LinkCollector;
  let collector: RunningCollector;
  let grafana: GrafanaProxy;
  let browser: PluginPage | undefined;
  let page: Page;
  let responses: PluginPage['responses'];
  let waitFor: PluginPage['waitFor'];

  beforeAll(async () => {
    const built = spawnSync('npm', ['run', '-s', 'build:plugin'], { encoding: 'utf8' });
    if (built.status !== 0) {
      throw new Error(`plugin build failed: ${built.stdout}${built.stderr}`);
    }
    const shared = await buildShared();
    grafana = await startGrafanaProxy('dist/plugin.json', pageHandler(shared));
    wire = createWire(SUBNET);
    warmUp(wire.a, wire.bIp);
    links = await startLinkCollector({ pollIntervalMs: 200 });
    const config = toConfig({ listen: '127.0.0.1:0', allowedOrigins: grafana.origin, figuresInterval: '200ms' });
    collector = await runCollector(config, TOKEN, { links, flows: new MemoryTable<FlowRecord>(), health: {}, features: FEATURES, close: () => links.close() });
    grafana.save({ uid: 'weft', url: collector.server.httpUrl, jsonData: { access: 'proxy' }, secureJsonData: { token: TOKEN } });
    browser = await openPluginPage(grafana.origin, { width: 1100, height: 1000 });
    ({ page, responses, waitFor } = browser);
  });

  afterAll(async () => {
    await browser?.close();
    await collector?.close();
    await grafana?.close();
    destroyAll();
  });

  const instance = (jsonData: Record<string, unknown>) => ({ uid: 'weft', name: 'Weft', type: 'weft-topology-datasource', url: grafana.instanceUrl('weft'), jsonData, access: 'proxy', meta: {}, readOnly: false });
  const linksQuery = { refId: 'A', table: 'links', aggregate: 'endpoint', filter: { name: `10.${SUBNET}.0.` }, top: 0, mainstat: 'bytes', live: true };



  /** The edge from 10.S.0.1 to 10.S.0.2 (one per pair of nodes, all ports), found through the nodes' ip details. */
  function edge(r: Served) {
    const [nodes, edges] = r.frames;
    if (!nodes || !edges || nodes.name !== 'nodes') {
      return undefined;
    }
    const ipOf = new Map(nodes.fields.id!.map((id, i) => [id, nodes.fields.detail__ip![i]]));
    const i = edges.fields.id!.findIndex((_, k) => ipOf.get(edges.fields.source![k]) === wire.aIp && ipOf.get(edges.fields.target![k]) === wire.bIp);
    if (i < 0) {
      return undefined;
    }
    return {
      sent: edges.fields.detail__bytes_sent![i],
      received: edges.fields.detail__bytes_received![i],
      ports: edges.fields.detail__port![i],
      protocol: edges.fields.detail__protocol![i],
      active: edges.fields.detail__connections![i],
    };
  }

  const stop = () => page.evaluate(() => (window as unknown as { weft: { stop(): { openBefore: boolean; openAfter: boolean } } }).weft.stop());

  async function waitUntil(ok: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > until) {
        throw new Error(`timed out waiting for ${what}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function exchange(port: number): Promise<void> {
    const server = startAgent(wire.b, ['server', '--host', wire.bIp, '--port', String(port), '--conns', String(N), '--recv', String(A), '--send', String(B)]);
    try {
      await server.line(/^ready$/);
      const client = startAgent(wire.a, ['client', '--host', wire.bIp, '--port', String(port), '--conns', String(N), '--send', String(A), '--recv', String(B)]);
      try {
        await client.done();
        await server.done();
      } finally {
        client.kill();
      }
    } finally {
      server.kill();
    }
  }

  it('built dist/ holds an AMD module.js, plugin.json, the logo, README and CHANGELOG', () => {
    const mod = readFileSync('dist/module.js', 'utf8');
    expect(mod).toMatch(/define\(\["@grafana\/data","@grafana\/runtime","@grafana\/ui","react","rxjs"\]/);
    expect(JSON.parse(readFileSync('dist/plugin.json', 'utf8'))).toMatchObject({ id: 'weft-topology-datasource', type: 'datasource', streaming: true });
    for (const f of ['img/logo.svg', 'README.md', 'CHANGELOG.md']) {
      expect(existsSync(`dist/${f}`)).toBe(true);
    }
  });

  it('renders the ConfigEditor and QueryEditor from the plugin export, and their controls change settings and query', async () => {
    expect(await page.evaluate(() => (window as unknown as { weft: { hasConfigEditor: boolean; hasQueryEditor: boolean } }).weft.hasConfigEditor)).toBe(true);
    await page.evaluate(
      ([settings, query]) => (window as unknown as { weft: { renderEditors(s: unknown, q: unknown): void } }).weft.renderEditors(settings, query),
      [{ ...instance({}), url: '', jsonData: {}, secureJsonFields: {} }, linksQuery] as const,
    );
    await page.getByPlaceholder('http://weft-collector:7070').fill('http://collector:7317');
    await page.getByRole('radio', { name: 'Direct' }).click();
    await page.getByPlaceholder('wss://weft.example.com:7070').fill('wss://weft.example:7317');
    await page.getByRole('radio', { name: 'Flows' }).click();
    const seen = await page.evaluate(() => {
      const w = (window as unknown as { weft: { configChanges: Array<{ url: string; jsonData: Record<string, unknown> }>; queryChanges: Array<{ table: string }>; runs: number } }).weft;
      return { config: w.configChanges[w.configChanges.length - 1], query: w.queryChanges[w.queryChanges.length - 1], runs: w.runs };
    });
    expect(seen.config).toMatchObject({ url: 'http://collector:7317', jsonData: { access: 'direct', directUrl: 'wss://weft.example:7317' } });
    expect(seen.query).toMatchObject({ table: 'flows' });
    expect(seen.runs).toBe(1);
  });

  it('Save & test in the browser reports the collector through the proxy and directly', async () => {
    const test = (settings: unknown) =>
      page.evaluate((s) => (window as unknown as { weft: { testDatasource(s: unknown): Promise<{ status: string; message: string }> } }).weft.testDatasource(s), settings);
    const proxied = await test(instance({ access: 'proxy' }));
    expect(proxied.status).toBe('success');
    expect(proxied.message).toMatch(/^Connected to weft-collector \S+ on \S+ \(protocol 1\)\. Kernel e2e: BTF yes, ring buffer yes, tcx yes, kprobes no, tracepoints 0\/0\. Tables: \d+ links, 0 flows\. Live updates work through Grafana's data source proxy\.$/);
    const wsUrl = collector.server.httpUrl.replace('http:', 'ws:');
    const direct = await test(instance({ access: 'direct', directUrl: wsUrl }));
    expect(direct).toMatchObject({ status: 'success' });
    expect(direct.message).toContain(`Live updates work directly at ${wsUrl}.`);
    grafana.save({ uid: 'weft-bad', url: collector.server.httpUrl, secureJsonData: { token: 'wrong' } });
    const bad = await test({ ...instance({}), uid: 'weft-bad', url: grafana.instanceUrl('weft-bad') });
    expect(bad).toEqual({ status: 'error', message: 'The collector refused the token (bad token): set the same token in the data source as the collector was started with.' });
  });

  it('streams live frames through the data source proxy: exact bytes, updates on new traffic, quiet when idle', async () => {
    await page.evaluate(([s, q]) => (window as unknown as { weft: { start(s: unknown, q: unknown): void } }).weft.start(s, q), [instance({ access: 'proxy' }), linksQuery] as const);
    await exchange(7061);
    const first = await waitFor((r) => {
      const e = edge(r);
      // Closed too: nothing more is going to change for this exchange.
      return e !== undefined && e.sent === A * N && e.received === B * N && e.active === 0;
    }, `the edge 10.${SUBNET}.0.1 → 10.${SUBNET}.0.2 with ${A * N}/${B * N} bytes`);
    expect(first.state).toBe('Streaming');
    expect(first.key).toBe('weft/A');
    expect(first.frames.map((f) => [f.name, f.meta?.preferredVisualisationType])).toEqual([
      ['nodes', 'nodeGraph'],
      ['edges', 'nodeGraph'],
    ]);
    expect(first.frames[0]!.fields.detail__ip!.slice().sort()).toEqual([wire.aIp, wire.bIp]);
    expect(edge(first)).toEqual({ sent: A * N, received: B * N, ports: '7061', protocol: 'tcp', active: 0 });
    expect(first.frames[1]!.fields.id!.length).toBe(1);

    // Nothing happens between the hosts: no new frame.
    const before = (await responses()).length;
    await new Promise((r) => setTimeout(r, 3000));
    expect((await responses()).length).toBe(before);

    // New traffic on another port: the pair's edge grows by exactly the new bytes and lists both ports.
    await exchange(7062);
    const second = await waitFor((r) => edge(r)?.sent === 2 * A * N && edge(r)?.active === 0, 'the second exchange');
    expect(edge(second)).toEqual({ sent: 2 * A * N, received: 2 * B * N, ports: '7061, 7062', protocol: 'tcp', active: 0 });
    expect(second.frames[1]!.fields.id!.length).toBe(1);
    expect(second.frames[0]!.fields.id).toEqual(first.frames[0]!.fields.id);

    mkdirSync(OUTPUT, { recursive: true });
    // No tooltip from the last click in the picture.
    await page.mouse.move(1090, 990);
    await page.screenshot({ path: `${OUTPUT}/plugin-live.png`, fullPage: true });

    // The socket went through the proxy, which added the token and dropped the browser's Origin.
    const upgrades = grafana.forwarded.filter((f) => f.path === '/ws');
    expect(upgrades.length).toBeGreaterThanOrEqual(1);
    for (const u of upgrades) {
      expect(u.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(u.headers.origin).toBeUndefined();
      expect(u.headers.referer).toBeUndefined();
    }
    // Ending the query closes the socket, and the collector sees its client leave.
    expect(await stop()).toEqual({ openBefore: true, openAfter: false });
    await waitUntil(() => collector.server.clients() === 0, 'the collector to see the socket close');
  });

  it('streams the same frames directly from the collector with a one-time ticket', async () => {
    const proxiedSockets = grafana.forwarded.filter((f) => f.path === '/ws').length;
    const direct = instance({ access: 'direct', directUrl: collector.server.httpUrl.replace('http:', 'ws:') });
    await page.evaluate(([s, q]) => (window as unknown as { weft: { start(s: unknown, q: unknown): void } }).weft.start(s, q), [direct, linksQuery] as const);
    const r = await waitFor((x) => edge(x) !== undefined, 'the edge, directly');
    expect(r.state).toBe('Streaming');
    expect(edge(r)).toEqual({ sent: 2 * A * N, received: 2 * B * N, ports: '7061, 7062', protocol: 'tcp', active: 0 });
    expect(grafana.forwarded.some((f) => f.path === '/api/ticket')).toBe(true);
    expect(grafana.forwarded.filter((f) => f.path === '/ws').length).toBe(proxiedSockets);
    await page.screenshot({ path: `${OUTPUT}/plugin-direct.png`, fullPage: true });
    expect(await stop()).toEqual({ openBefore: true, openAfter: false });
    await waitUntil(() => collector.server.clients() === 0, 'the collector to see the socket close');
  });
});
