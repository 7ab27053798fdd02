// What weft accepts as the collector's hello: anything else ends the run at once with a sentence,
// and closes the socket (left open, it kept the process alive after the error was printed).
import { describe, expect, it } from 'vitest';
import { WeftClient } from '../../src/cli/client.js';
import { fakeCollector, hello, linkRecord, snapshot, useFakes, weft } from '../helpers/fake-collector.js';

const { tokenFile } = useFakes();

async function against(first: string): Promise<Awaited<ReturnType<typeof weft>>> {
  const fake = await fakeCollector((ws, subscribed) => {
    ws.send(first);
    subscribed((m) => ws.send(snapshot(m.sub!, [linkRecord(1)])));
  });
  return weft(['links', '--server', fake.url, '--token-file', tokenFile], { limitMs: 4000 });
}

describe('weft and the collector hello', () => {
  it('ends when the first message is not a hello', async () => {
    const r = await against(snapshot('list', []));
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weft: ws:\/\/127\.0\.0\.1:\d+ sent snapshot before its hello\n$/);
  });

  it('refuses a collector that speaks another protocol version', async () => {
    const fake = await fakeCollector((ws) => ws.send(hello({ protocol: 2 })));
    await expect(WeftClient.connect({ server: fake.url, token: 't' })).rejects.toThrow(/^ws:\/\/127\.0\.0\.1:\d+ speaks Weft protocol 2, this weft speaks 1: upgrade the older of the two$/);
  });

  it('refuses a hello without a heartbeat interval (it set the ping timer running flat out)', async () => {
    for (const heartbeatMs of [undefined, 0, -1, 'soon', 1e12]) {
      const fake = await fakeCollector((ws) => ws.send(hello({ heartbeatMs })));
      await expect(WeftClient.connect({ server: fake.url, token: 't' })).rejects.toThrow(/sent a malformed hello: "heartbeatMs" is not a usable interval$/);
      await fake.close();
    }
  });
});
