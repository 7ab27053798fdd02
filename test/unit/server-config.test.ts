import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseListen } from '../../src/collector/config.js';
import { defaultTokenPath, loadOrCreateToken } from '../../src/collector/token.js';
import { parseTime, specFrom } from '../../src/cli/commands.js';
import { socketUrl } from '../../src/cli/client.js';
import { LiveView } from '../../src/cli/live-view.js';
import { bytes, tcpFlags } from '../../src/cli/format.js';
import { collectorArgs } from '../helpers/collector-args.js';
import { link } from '../helpers/records.js';

const parse = collectorArgs;

describe('collector config', () => {
  it('has safe defaults: loopback, 10 s × 1 h history, 2 s figures', () => {
    const c = parse([]);
    expect(c).toMatchObject({ host: '127.0.0.1', port: 7317, pollIntervalMs: 100, figuresIntervalMs: 2000, allowedOrigins: [], includeSelf: false });
    expect(c.history).toEqual({ resolutionMs: 10_000, windowMs: 3_600_000, budgetBytes: 32 * 1024 * 1024 });
    expect(c.tls).toBeUndefined();
  });

  it('takes flags and their WEFT_* twins', () => {
    const c = parse(['--listen', '[::1]:9000', '--interfaces', 'eth*, ens3', '--history', '30m', '--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--links-map-size', '1024'], {
      WEFT_ALLOWED_ORIGINS: 'https://grafana.test,http://localhost:3000',
      WEFT_FIGURES_INTERVAL: '5s',
      WEFT_INCLUDE_SELF: '1',
    });
    expect(c).toMatchObject({ host: '::1', port: 9000, interfaces: ['eth*', 'ens3'], figuresIntervalMs: 5000, includeSelf: true, linksMapSize: 1024, tls: { certFile: 'c.pem', keyFile: 'k.pem' } });
    expect(c.history.windowMs).toBe(1_800_000);
    expect(c.allowedOrigins).toEqual(['https://grafana.test', 'http://localhost:3000']);
  });

  it('explains bad values', () => {
    expect(() => parseListen('7317')).toThrow(/not HOST:PORT/);
    expect(() => parseDuration('fast', '--poll-interval')).toThrow(/--poll-interval: "fast" is not a duration/);
    expect(() => parse(['--tls-cert', 'c.pem'])).toThrow(/--tls-cert and --tls-key go together/);
    expect(() => parse(['--allowed-origins', 'grafana.test'])).toThrow(/not an origin/);
    expect(() => parse(['--links-map-size', '0'])).toThrow(/not a positive whole number/);
    expect(parseDuration('1.5s', 'x')).toBe(1500);
  });
});

describe('token file', () => {
  it('defaults under /var/lib/weft as root, else under XDG_STATE_HOME', () => {
    expect(defaultTokenPath({}, true)).toBe('/var/lib/weft/token');
    expect(defaultTokenPath({ XDG_STATE_HOME: '/s' }, false)).toBe('/s/weft/token');
  });

  it('creates a 0600 token once, then reads it back, and warns about loose modes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-token-'));
    try {
      const path = join(dir, 'deep', 'token');
      const made = loadOrCreateToken(path);
      expect(made.created).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8').trim()).toBe(made.token);
      const again = loadOrCreateToken(path);
      expect(again).toEqual({ token: made.token, path, created: false });
      chmodSync(path, 0o644);
      expect(loadOrCreateToken(path).warning).toMatch(/mode 644; run chmod 600/);
      writeFileSync(path, 'short');
      expect(() => loadOrCreateToken(path)).toThrow(/at least 16/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('weft client pieces', () => {
  it('turns options into a spec, times into epoch ms, servers into socket URLs', () => {
    expect(specFrom('links', { server: '', tokenFile: '', port: '80', namespace: 'shop', aggregate: 'pod', top: '10' })).toEqual({ table: 'links', filter: { port: 80, namespace: 'shop' }, aggregate: 'pod', top: 10 });
    expect(parseTime('-5m', 1_000_000)).toBe(700_000);
    expect(parseTime('now', 5)).toBe(5);
    expect(parseTime('1700000000000')).toBe(1_700_000_000_000);
    expect(() => parseTime('yesterday')).toThrow(/not a time/);
    expect(socketUrl('127.0.0.1:7317')).toBe('ws://127.0.0.1:7317/ws');
    expect(socketUrl('https://c.test')).toBe('wss://c.test/ws');
    expect(bytes(1023)).toBe('1023 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(tcpFlags(0x12)).toBe('SYN,ACK');
  });

  it('applies snapshots and deltas in order and notices a gap', () => {
    const v = new LiveView<ReturnType<typeof link>>();
    expect(v.apply({ type: 'snapshot', sub: 's', seq: 4, table: 'links', records: [link(1)], time: 0 }).added).toHaveLength(1);
    const d = v.apply({ type: 'delta', sub: 's', seq: 5, table: 'links', upsert: [link(2), { ...link(1), bytesSent: 1 }], remove: [], time: 0 });
    expect([d.added.length, d.changed.length]).toEqual([1, 1]);
    expect(v.apply({ type: 'delta', sub: 's', seq: 7, table: 'links', upsert: [], remove: ['l000001'], time: 0 }).ok).toBe(false);
    expect(v.apply({ type: 'delta', sub: 's', seq: 6, table: 'links', upsert: [], remove: ['l000001'], time: 0 }).removed.map((r) => r.id)).toEqual(['l000001']);
    expect(v.records().map((r) => r.id)).toEqual(['l000002']);
  });
});
