// A collector that stops talking without closing the socket (stopped, wedged, a dead link): weft
// gives up after three heartbeat intervals of silence, as the collector does with a silent
// client, instead of waiting for ever.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeftClient } from '../../src/cli/client.js';
import { fakeCollector, hello, linkRecord, snapshot, weft, type Fake } from '../helpers/fake-collector.js';

const dir = mkdtempSync(join(tmpdir(), 'w14-silent-'));
const tokenFile = join(dir, 'token');
writeFileSync(tokenFile, 't\n');
let fake: Fake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('weft and a collector gone silent', () => {
  it('weft watch ends with a sentence after three heartbeats of silence', async () => {
    // Answers the subscription, then never a word: no pings, no pongs.
    fake = await fakeCollector((ws, subscribed) => {
      ws.send(hello({ heartbeatMs: 1000 }));
      subscribed((m) => ws.send(snapshot(m.sub!, [linkRecord(1)])));
    });
    const r = await weft(['watch', '--server', fake.url, '--token-file', tokenFile], { limitMs: 15_000 });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\+ 10\.51\.0\.1 \(client-1\)/);
    expect(r.stderr).toBe('weft: nothing heard from the collector for 3000 ms (heartbeat-timeout)\n');
  }, 20_000);

  it('keeps a collector that pings', async () => {
    fake = await fakeCollector((ws) => {
      ws.send(hello({ heartbeatMs: 300 }));
      const t = setInterval(() => ws.send(JSON.stringify({ type: 'ping', t: Date.now() })), 300);
      ws.on('close', () => clearInterval(t));
    });
    const client = await WeftClient.connect({ server: fake.url, token: 't' });
    await new Promise((r) => setTimeout(r, 4000));
    expect(client.closeInfo).toBeUndefined();
    await client.close();
  }, 10_000);
});
