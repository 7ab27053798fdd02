// A client that behaves, beside the ones a test refuses: it must keep being served.
import { expect } from 'vitest';
import { WeftClient } from '../../src/cli/client.js';
import type { ServerMessage } from '../../src/protocol/index.js';
import { link } from './records.js';
import { TOKEN, type TestServer } from './server.js';

/** A client subscribed to every link, beside the ones a test refuses. */
export interface Bystander {
  client: WeftClient;
  /** The bystander is still pushed a new link (link(n)), proving the collector keeps serving. */
  stillServed(n: number): Promise<void>;
}

export async function bystander(t: TestServer): Promise<Bystander> {
  const client = await WeftClient.connect({ server: t.server.wsUrl, token: TOKEN });
  let seen = 0;
  client.onMessage(() => void (seen += 1));
  const snap = client.next((m): m is ServerMessage => m.type === 'snapshot');
  client.subscribe('all', { table: 'links' });
  await snap;
  return {
    client,
    stillServed: async (n) => {
      const before = seen;
      t.links.upsert([link(n)]);
      await client.next((m): m is ServerMessage => m.type === 'delta' && m.upsert.some((r) => r.id === link(n).id));
      expect(seen).toBeGreaterThan(before);
      expect(client.closeInfo).toBeUndefined();
    },
  };
}
