// The built plugin in a real browser when things go wrong: the collector goes away mid-stream and
// comes back (the panel keeps its last graph and says why meanwhile, then streams again on one
// socket with one subscription), and a direct URL the browser itself refuses. The collector is
// the real server over tables the test fills; Chromium, the proxy stand-in and the page are as in
// plugin-browser.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { linkRecord, startTestCollector, type TestCollector } from '../plugin/support/collector.js';
import { startGrafanaProxy, type GrafanaProxy } from './support/grafana-proxy.js';
import { buildShared, pageHandler } from './support/plugin-page.js';

const TOKEN = 'e2e-recovery-token-14';

interface Served {
  state: string;
  error?: string;
  frames: Array<{ name: string; fields: Record<string, unknown[]> }>;
}

describe('plugin in a real browser, when the collector fails', () => {
  let grafana: GrafanaProxy;
  let browser: BrowserContext;
  let profile: string;
  let page: Page;
  const collectors: TestCollector[] = [];

  beforeAll(async () => {
    const built = spawnSync('npm', ['run', '-s', 'build:plugin'], { encoding: 'utf8' });
    if (built.status !== 0) {
      throw new Error(`plugin build failed: ${built.stdout}${built.stderr}`);
    }
    grafana = await startGrafanaProxy('dist/plugin.json', pageHandler(await buildShared()));
    profile = mkdtempSync(join(tmpdir(), 'weft-e2e-recovery-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${grafana.origin}/`);
    await page.waitForFunction(() => (window as unknown as { weft?: unknown }).weft !== undefined, undefined, { timeout: 20_000 }).catch(() => {
      throw new Error(`page did not load the plugin: ${errors.join('; ')}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) {
      rmSync(profile, { recursive: true, force: true });
    }
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
  const responses = (): Promise<Served[]> => page.evaluate(() => (window as unknown as { weft: { responses: Served[] } }).weft.responses);
  const nodeCount = (r: Served) => r.frames[0]?.fields.id?.length;

  async function waitFor(ok: (r: Served) => boolean, what: string, timeoutMs = 20_000): Promise<Served> {
    const until = Date.now() + timeoutMs;
    let last: Served | undefined;
    while (Date.now() < until) {
      const all = await responses();
      last = all[all.length - 1];
      if (last && ok(last)) {
        return last;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; last response: ${JSON.stringify(last)}`);
  }

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
