// A collector that stops talking without closing the socket (stopped, wedged, a dead link): weft
// gives up after three heartbeat intervals of silence, as the collector does with a silent
// client, instead of waiting for ever.
import { describe, expect, it } from 'vitest';
import { WeftClient } from '../../src/cli/client.js';
import { fakeCollector, hello, linkRecord, snapshot, useFakes, weft } from '../helpers/fake-collector.js';

const { tokenFile } = useFakes();

describe('weft and a collector gone silent', () => {
  it('weft watch ends with a sentence after three heartbeats of silence', async () => {
    // Answers the subscription, then never a word: no pings, no pongs.
    const fake = await fakeCollector((ws, subscribed) => {
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
    const fake = await fakeCollector((ws) => {
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
