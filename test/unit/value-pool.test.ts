import { describe, expect, it } from 'vitest';
import { ValuePool } from '../../src/collector/privsep/value-pool.js';

describe('value pool', () => {
  it('gives back the held value equal to one it is given, and only an equal one', () => {
    const pool = new ValuePool();
    const e = { ip: '10.51.0.1', netns: 'netns:[1]', pid: 1 };
    expect(pool.share(e)).toBe(e);
    expect(pool.share({ ip: '10.51.0.1', netns: 'netns:[1]', pid: 1 })).toBe(e);
    const other = { ip: '10.51.0.1', netns: 'netns:[1]', pid: 2 };
    expect(pool.share(other)).toBe(other);
    expect(pool.share([1, 2])).toEqual([1, 2]);
    expect(pool.share('text')).toBe('text');
    expect(pool.share(7)).toBe(7);
    const r = { id: 'x', client: { ...e }, port: 1 };
    expect(pool.shareFields(r).client).toBe(e);
  });

  it('holds each text once: the strings of records and of the objects they hold, but not their ids', () => {
    const pool = new ValuePool();
    const fresh = (s: string): string => [...s].join('');
    const records = [1, 2, 3].map((n) => pool.shareFields({ id: `link-${n}`, protocol: fresh('tcp'), client: { ip: `10.51.0.${n}`, process: fresh('curl'), kind: fresh('process') }, server: { ip: '10.50.255.1', process: fresh('nginx') } }));
    // Three client addresses, curl, process, the server's address and nginx (its endpoint once), tcp.
    expect(pool.held()).toEqual({ objects: 4, strings: 8 });
    expect(records[2]!.server).toBe(records[0]!.server);
    expect(records[2]).toEqual({ id: 'link-3', protocol: 'tcp', client: { ip: '10.51.0.3', process: 'curl', kind: 'process' }, server: { ip: '10.50.255.1', process: 'nginx' } });
  });

  it('holds a bounded number of values, and keeps sharing a common one among a stream of unique ones', () => {
    const pool = new ValuePool();
    const server = new Set<object>();
    for (let n = 0; n < 100_000; n++) {
      pool.share({ ip: `10.51.${n >> 8}.${n & 255}`, kind: 'process' });
      server.add(pool.share({ ip: '10.50.255.1', port: 8080, kind: 'process' }));
    }
    // The common endpoint is pushed out of its slot by the few unique ones that hash there.
    expect(server.size).toBeLessThan(20);
    const held = pool.held();
    expect(held.objects).toBeLessThanOrEqual(16_384);
    expect(held.strings).toBeLessThanOrEqual(16_384);
  });
});
