// Serves the e2e page like Grafana serves a plugin: the built dist/ under
// /public/plugins/weft-topology-datasource/, and the shared packages built from their npm packages.
import { build } from 'esbuild';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StaticHandler } from './grafana-proxy.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.md': 'text/markdown',
  '.map': 'application/json',
};

/** Bundles react, react-dom, rxjs and @grafana/{data,ui,runtime} into one script for the page. */
export async function buildShared(): Promise<string> {
  const out = await build({
    entryPoints: ['test/e2e/page/shared-entry.js'],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    minify: true,
    logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    loader: { '.css': 'empty', '.svg': 'dataurl', '.png': 'dataurl', '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty' },
  });
  return out.outputFiles[0]!.text;
}

export function pageHandler(sharedJs: string, distDir = 'dist', pageDir = 'test/e2e/page'): StaticHandler {
  const PLUGIN_PREFIX = '/public/plugins/weft-topology-datasource/';
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (type: string, body: string | Buffer) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
      return true;
    };
    if (path === '/') {
      return send(TYPES['.html']!, readFileSync(join(pageDir, 'index.html')));
    }
    if (path === '/shared.js') {
      return send(TYPES['.js']!, sharedJs);
    }
    if (path === '/amd.js' || path === '/page.js') {
      return send(TYPES['.js']!, readFileSync(join(pageDir, path.slice(1))));
    }
    if (path.startsWith(PLUGIN_PREFIX)) {
      const rel = normalize(path.slice(PLUGIN_PREFIX.length));
      const file = join(distDir, rel);
      if (rel.startsWith('..') || !existsSync(file)) {
        res.writeHead(404).end();
        return true;
      }
      return send(TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
    }
    return false;
  };
}

/** One answer the page's data source gave, as the page records it. */
export interface Served {
  state: string;
  key?: string;
  error?: string;
  frames: Array<{ name: string; meta?: { preferredVisualisationType?: string }; fields: Record<string, unknown[]> }>;
}

export interface PluginPage {
  page: Page;
  /** Every answer so far. */
  responses(): Promise<Served[]>;
  /** Waits until the latest answer satisfies `ok`; fails with the last one seen. */
  waitFor(ok: (r: Served) => boolean, what: string, timeoutMs?: number): Promise<Served>;
  close(): Promise<void>;
}

/** Debian's Chromium on the proxy's page, once the page has loaded the plugin; a fresh profile each time. */
export async function openPluginPage(origin: string, viewport?: { width: number; height: number }): Promise<PluginPage> {
  // Playwright passes the profile as --user-data-dir.
  const profile = mkdtempSync(join(tmpdir(), 'weft-e2e-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ...(viewport ? { viewport } : {}),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const close = async (): Promise<void> => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  };
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin}/`);
  try {
    await page.waitForFunction(() => (window as unknown as { weft?: unknown }).weft !== undefined, undefined, { timeout: 20_000 });
  } catch {
    await close();
    throw new Error(`page did not load the plugin: ${errors.join('; ')}`);
  }
  const responses = (): Promise<Served[]> => page.evaluate(() => (window as unknown as { weft: { responses: Served[] } }).weft.responses);
  const waitFor = async (ok: (r: Served) => boolean, what: string, timeoutMs = 20_000): Promise<Served> => {
    const until = Date.now() + timeoutMs;
    let last: Served | undefined;
    while (Date.now() < until) {
      const all = await responses();
      last = all[all.length - 1];
      if (last && ok(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}; last response: ${JSON.stringify(last)}`);
  };
  return { page, responses, waitFor, close };
}
