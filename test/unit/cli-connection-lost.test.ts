// A collector that goes away while weft waits for an answer: the wait ends when the socket
// closes, saying so, not ten seconds later with "timed out".
import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { WeftClient } from '../../src/cli/client.js';
import type { SnapshotMessage } from '../../src/protocol/index.js';
import { fakeCollector, hello, useFakes } from '../helpers/fake-collector.js';

useFakes();

const isSnapshot = (m: { type: string }): m is SnapshotMessage => m.type === 'snapshot';

describe('weft when the collector goes away mid-answer', () => {
  it('fails the wait as soon as the socket is lost in the middle of a snapshot', async () => {
    const fake = await fakeCollector((ws, subscribed) => {
      ws.send(hello());
      subscribed((m) => {
        // The first fragment of the snapshot, then the collector is gone.
        ws.send(`{"type":"snapshot","sub":"${m.sub}","seq":1,"records":[`, { fin: false });
        setTimeout(() => (ws as unknown as { _socket: Socket })._socket.destroy(), 100);
      });
    });
    const client = await WeftClient.connect({ server: fake.url, token: 't' });
    const started = Date.now();
    const snap = client.next(isSnapshot, 'list');
    client.subscribe('list', { table: 'links' });
    await expect(snap).rejects.toThrow(/^the connection to the collector was lost \(1006\)$/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('says why when the collector closes with a reason, and fails a wait begun after the close', async () => {
    const fake = await fakeCollector((ws, subscribed) => {
      ws.send(hello());
      subscribed(() => ws.close(4000, 'going'));
    });
    const client = await WeftClient.connect({ server: fake.url, token: 't' });
    const snap = client.next(isSnapshot, 'list');
    client.subscribe('list', { table: 'links' });
    await expect(snap).rejects.toThrow(/^the collector closed the connection \(4000: going\)$/);
    await expect(client.next(isSnapshot, 'list')).rejects.toThrow(/^the collector closed the connection \(4000: going\)$/);
  });
});
