// The server bench's browser client: Chromium opening the collector's socket as the plugin does in
// direct mode (a ticket bound to the page's origin), timing a snapshot from subscribe until the
// message event and until JSON.parse is done. The browser decodes a text frame itself, before
// the event.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROTOCOL_VERSION, type TicketResponse } from '../../src/protocol/index.js';
import { TOKEN } from './server.js';

export const CHROMIUM = '/usr/bin/chromium';

/** A blank page to open sockets from; its origin is the one the collector must allow. */
export async function blankPage(): Promise<{ origin: string; close(): void }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

export interface BrowserTimes {
  /** Subscribe → the message event, per subscribe. */
  received: number[];
  /** Subscribe → parsed. */
  parsed: number[];
}

/**
 * `rounds` subscribes from a page at `origin`, each to a spec of its own (`top` + i) so the view is
 * built for it alone; `settle` runs before each (the collector's heap), the page's heap is collected.
 */
export async function browserSnapshots(o: { wsUrl: string; httpUrl: string; origin: string; top: number; rounds: number; settle: () => Promise<unknown> }): Promise<BrowserTimes | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--js-flags=--expose-gc'] });
  try {
    const page = await browser.newPage();
    await page.goto(o.origin);
    const times: BrowserTimes = { received: [], parsed: [] };
    for (let i = 0; i < o.rounds; i++) {
      const res = await fetch(`${o.httpUrl}/api/ticket`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ origin: o.origin }) });
      const { ticket } = (await res.json()) as TicketResponse;
      await o.settle();
      const [received, parsed] = await page.evaluate(subscribeOnce, { url: `${o.wsUrl}?ticket=${encodeURIComponent(ticket)}`, top: o.top + i, protocol: PROTOCOL_VERSION });
      times.received.push(received);
      times.parsed.push(parsed);
    }
    return times;
  } finally {
    await browser.close();
  }
}

/** Runs in the page: one socket, one subscribe, the snapshot's times. */
async function subscribeOnce(a: { url: string; top: number; protocol: number }): Promise<[number, number]> {
  const ws = new WebSocket(a.url);
  await new Promise((resolve, reject) => {
    ws.onmessage = resolve;
    ws.onerror = () => reject(new Error(`socket to ${a.url} failed`));
  });
  ws.send(JSON.stringify({ type: 'hello', protocol: a.protocol, client: 'bench-browser' }));
  (globalThis as { gc?: () => void }).gc?.();
  return new Promise((resolve) => {
    let t0 = 0;
    ws.onmessage = (ev: MessageEvent<string>) => {
      if (!ev.data.startsWith('{"type":"snapshot"')) return;
      const received = performance.now();
      JSON.parse(ev.data);
      const parsed = performance.now();
      ws.close();
      resolve([received - t0, parsed - t0]);
    };
    t0 = performance.now();
    ws.send(JSON.stringify({ type: 'subscribe', sub: 's', table: 'links', top: a.top }));
  });
}
