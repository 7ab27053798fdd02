// `weft ... | head`: once the reader of its output goes away, weft stops quietly, with no stack trace.
import { describe, expect, it } from 'vitest';
import { fakeCollector, hello, linkRecord, snapshot, useFakes, weft } from '../helpers/fake-collector.js';

const { tokenFile } = useFakes();

const records = Array.from({ length: 3000 }, (_, i) => linkRecord(i + 1));

describe('weft writing into a closed pipe', () => {
  for (const args of [['links'], ['links', '--json'], ['watch'], ['watch', '--json']]) {
    it(`weft ${args.join(' ')} stops quietly`, async () => {
      const fake = await fakeCollector((ws, subscribed) => {
        ws.send(hello());
        subscribed((m) => ws.send(snapshot(m.sub!, records)));
      });
      // The reader takes the first chunk and goes, as head does.
      const r = await weft([...args, '--server', fake.url, '--token-file', tokenFile], { onStart: (p) => p.stdout!.once('data', () => p.stdout!.destroy()) });
      expect(r.signal).toBeNull();
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }
});
