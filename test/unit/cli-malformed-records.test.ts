// A collector whose snapshot weft cannot read (no records list, records without their fields, no
// time): weft says so in one line and exits 1, instead of a stack trace or a JavaScript message.
// A message without what every client reads is refused by the protocol's shared check
// (malformed); a record without what the table shows, by the command that shows it.
import { describe, expect, it } from 'vitest';
import { fakeCollector, hello, linkRecord, snapshot, useFakes, weft } from '../helpers/fake-collector.js';

const { tokenFile } = useFakes();

async function answered(args: string[], answer: (sub: string) => string): Promise<Awaited<ReturnType<typeof weft>>> {
  const fake = await fakeCollector((ws, subscribed) => {
    ws.send(hello());
    subscribed((m) => ws.send(answer(m.sub!)));
  });
  return weft([...args, '--server', fake.url, '--token-file', tokenFile], { limitMs: 8000 });
}

const notAList = (sub: string): string => snapshot(sub, null);
const NOT_A_LIST = /^weft: the collector sent a malformed snapshot message: "records" is not a list( \(malformed\))?\n$/;

describe('weft and a snapshot it cannot read', () => {
  it('weft links: records that are not a list', async () => {
    const r = await answered(['links'], notAList);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(NOT_A_LIST);
  });

  it('weft links: a record without its fields', async () => {
    const r = await answered(['links'], (sub) => snapshot(sub, [{ id: 'x' }]));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^weft: the collector sent a snapshot weft cannot read \([^\n]+\)\n$/);
  });

  it('weft watch: records that are not a list', async () => {
    const r = await answered(['watch'], notAList);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(NOT_A_LIST);
  });

  it('weft watch: a snapshot without its time', async () => {
    const r = await answered(['watch'], (sub) => snapshot(sub, [linkRecord(1)], { time: undefined }));
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weft: the collector sent a malformed snapshot message: "sub", "seq" or "time" is missing \(malformed\)\n$/);
  });
});
