// Serves the e2e page like Grafana serves a plugin: the built dist/ under
// /public/plugins/weft-topology-datasource/, and the shared packages built from their npm packages.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
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
