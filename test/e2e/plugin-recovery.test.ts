// The built plugin in a real browser when things go wrong: the collector goes away mid-stream and
// comes back (the panel keeps its last graph and says why meanwhile, then streams again on one
// socket with one subscription), and a direct URL the browser itself refuses. The collector is
// the real server over tables the test fills; Chromium, the proxy stand-in and the page are as in
// plugin-browser.test.ts.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { linkRecord, startTestCollector, type TestCollector } from '../plugin/support/collector.js';
import { startGrafanaProxy, type GrafanaProxy } from './support/grafana-proxy.js';
import { buildShared, openPluginPage, pageHandler, type PluginPage, type Served } from './support/plugin-page.js';

const TOKEN = 'e2e-recovery-token-14';


describe('plugin in a real browser, when the collector fails', () => {
  let grafana: GrafanaProxy;
  let browser: PluginPage | undefined;
  let page: Page;
  let waitFor: PluginPage['waitFor'];
  const collectors: TestCollector[] = [];

  beforeAll(async () => {
    const built = spawnSync('npm', ['run', '-s', 'build:plugin'], { encoding: 'utf8' });
    if (built.status !== 0) {
      throw new Error(`plugin build failed: ${built.stdout}${built.stderr}`);
    }
    grafana = await startGrafanaProxy('dist/plugin.json', pageHandler(await buildShared()));
    browser = await openPluginPage(grafana.origin);
    ({ page, waitFor } = browser);
  });

  afterAll(async () => {
    await browser?.close();
    for (const c of collectors) {
      await c.close().catch(() => {});
    }
    await grafana?.close();
  });

  async function collector(links: ReturnType<typeof linkRecord>[]): Promise<TestCollector> {
    const c = await startTestCollector(TOKEN, grafana.origin, links);
    collectors.push(c);
    return c;
  }

  const instance = (jsonData: Record<string, unknown>) => ({ uid: 'weft', name: 'Weft', type: 'weft-topology-datasource', url: grafana.instanceUrl('weft'), jsonData, access: 'proxy', meta: {}, readOnly: false });
  const query = { refId: 'A', table: 'links', aggregate: 'endpoint', top: 0, mainstat: 'bytes', live: true };
  const start = (settings: unknown) => page.evaluate(([s, q]) => (window as unknown as { weft: { start(s: unknown, q: unknown): void } }).weft.start(s, q), [settings, query] as const);
  const stop = () => page.evaluate(() => (window as unknown as { weft: { stop(): unknown } }).weft.stop());
  const nodeCount = (r: Served) => r.frames[0]?.fields.id?.length;


  async function subscriptions(c: TestCollector): Promise<number> {
    const text = await (await fetch(`${c.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    return Number(/^weft_subscriptions\{kind="subscriptions"\} (\d+)$/m.exec(text)?.[1]);
  }

  it('keeps the last graph while the collector is away, then streams from it again on one socket', async () => {
    const first = await collector([linkRecord('l1', '10.14.0.1', '10.14.0.2', 10, 20)]);
    grafana.save({ uid: 'weft', url: first.httpUrl, secureJsonData: { token: TOKEN } });
    await start(instance({ access: 'proxy' }));
    const live = await waitFor((r) => r.state === 'Streaming' && nodeCount(r) === 2, 'the first graph');

    await first.close();
    const away = await waitFor((r) => r.state === 'Error', 'the panel to say the collector is away');
    expect(away.error).toMatch(/Reconnecting…$/);
    expect(away.frames).toEqual(live.frames);

    // The collector comes back (a new process, so a new address behind the same proxy path).
    const second = await collector([linkRecord('l1', '10.14.0.1', '10.14.0.2', 10, 20), linkRecord('l2', '10.14.0.1', '10.14.0.3', 5, 6)]);
    grafana.save({ uid: 'weft', url: second.httpUrl, secureJsonData: { token: TOKEN } });
    await waitFor((r) => r.state === 'Streaming' && nodeCount(r) === 3, 'the graph from the collector that came back', 30_000);
    expect(second.server.clients()).toBe(1);
    expect(await subscriptions(second)).toBe(1);

    await stop();
    const until = Date.now() + 5000;
    while (second.server.clients() > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(second.server.clients()).toBe(0);
    expect(await subscriptions(second)).toBe(0);
  });

  it('says why when the browser refuses the direct URL, instead of loading for ever', async () => {
    const c = await collector([linkRecord('l1', '10.14.0.1', '10.14.0.2', 10, 20)]);
    grafana.save({ uid: 'weft', url: c.httpUrl, secureJsonData: { token: TOKEN } });
    // A fragment: Chromium's WebSocket constructor throws on it.
    await start(instance({ access: 'direct', directUrl: `${c.httpUrl.replace('http:', 'ws:')}#panel` }));
    const r = await waitFor((x) => x.state !== 'Loading', 'an answer');
    expect(r.state).toBe('Error');
    expect(r.error).toMatch(/^The browser cannot open a WebSocket to ws:\/\/127\.0\.0\.1:\d+\/: .*fragment/);
    await stop();
  });
});
