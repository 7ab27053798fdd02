// Odd values for the collector's flags and WEFT_* variables: each is refused with a sentence naming
// it, or read as the user meant it; none starts a collector that does something else.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectorArgs } from '../helpers/collector-args.js';
import { loadOrCreateToken } from '../../src/collector/token.js';

const parse = collectorArgs;

describe('WEFT_* switches', () => {
  it('read 0, false, no, off and empty as off, so WEFT_NO_PRIVSEP=0 keeps privilege separation', () => {
    for (const off of ['0', 'false', 'no', 'off', '', 'FALSE']) {
      expect(parse([], { WEFT_NO_PRIVSEP: off }).privsep, `WEFT_NO_PRIVSEP=${off}`).toBe(true);
      expect(parse([], { WEFT_INCLUDE_SELF: off }).includeSelf, `WEFT_INCLUDE_SELF=${off}`).toBe(false);
    }
  });

  it('read 1, true, yes and on as on', () => {
    for (const on of ['1', 'true', 'yes', 'on', 'True']) {
      expect(parse([], { WEFT_NO_PRIVSEP: on }).privsep, `WEFT_NO_PRIVSEP=${on}`).toBe(false);
      expect(parse([], { WEFT_INCLUDE_SELF: on }).includeSelf, `WEFT_INCLUDE_SELF=${on}`).toBe(true);
    }
  });

  it('refuse anything else, naming the variable', () => {
    expect(() => parse([], { WEFT_NO_PRIVSEP: 'maybe' })).toThrow(/WEFT_NO_PRIVSEP: "maybe" is not 1 or 0/);
    expect(() => parse([], { WEFT_INCLUDE_SELF: '2' })).toThrow(/WEFT_INCLUDE_SELF: "2" is not 1 or 0/);
  });

  it('give way to the flag', () => {
    expect(parse(['--no-privsep'], { WEFT_NO_PRIVSEP: '0' }).privsep).toBe(false);
    expect(parse(['--include-self'], { WEFT_INCLUDE_SELF: '0' }).includeSelf).toBe(true);
  });
});

describe('durations', () => {
  it('refuse what rounds to 0 ms before anything is loaded', () => {
    expect(() => parse(['--poll-interval', '0.1ms'])).toThrow(/--poll-interval: "0.1ms" is less than 1ms/);
    expect(() => parse(['--figures-interval', '0.4'])).toThrow(/--figures-interval: "0.4" is less than 1ms/);
    expect(parse(['--poll-interval', '0.5ms']).pollIntervalMs).toBe(1);
  });

  it('refuse timers longer than Node can wait, which would fire every millisecond instead', () => {
    expect(() => parse(['--poll-interval', '9999999999h'])).toThrow(/--poll-interval: "9999999999h" is longer than 596h/);
    expect(() => parse(['--history-resolution', '600h', '--history', '700h'])).toThrow(/--history-resolution: "600h" is longer than 596h/);
    expect(() => parse([], { WEFT_FIGURES_INTERVAL: '1000h' })).toThrow(/--figures-interval: "1000h" is longer than 596h/);
    expect(parse(['--poll-interval', '596h']).pollIntervalMs).toBe(596 * 3_600_000);
    expect(parse(['--history', '2000h']).history.windowMs).toBe(2000 * 3_600_000);
  });

  it('refuse a history resolution longer than the history itself', () => {
    expect(() => parse(['--history', '10s', '--history-resolution', '1m'])).toThrow(/--history-resolution \(1m\) is longer than --history \(10s\)/);
    expect(() => parse(['--history-resolution', '2h'])).toThrow(/--history-resolution \(2h\) is longer than --history \(1h\)/);
    expect(parse(['--history', '1m', '--history-resolution', '1m']).history).toMatchObject({ windowMs: 60_000, resolutionMs: 60_000 });
  });
});

describe('token file contents', () => {
  it('say which token file cannot be read or written, and why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-token-'));
    try {
      expect(() => loadOrCreateToken(dir)).toThrow(new RegExp(`^cannot read the token file ${dir} \\(EISDIR\\)$`));
      const file = join(dir, 'file');
      writeFileSync(file, '');
      expect(() => loadOrCreateToken(join(file, 'token'))).toThrow(new RegExp(`^cannot write the token file ${file}/token \\(EEXIST\\)$`));
      expect(() => loadOrCreateToken('/proc/weft-token')).toThrow(/^cannot write the token file \/proc\/weft-token \(ENOENT\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuse a token no Authorization header can carry', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-token-'));
    try {
      const path = join(dir, 'token');
      for (const text of ['abcdefgh ijklmnopqr\n', 'abcdefghijklmnop\nsecond line here\n', 'abcdefghijklmnopé\n', 'abcdefgh\tijklmnopq']) {
        writeFileSync(path, text, { mode: 0o600 });
        expect(() => loadOrCreateToken(path), JSON.stringify(text)).toThrow(/holds spaces, line breaks or characters other than printable ASCII/);
      }
      writeFileSync(path, '  Zm9v+YmFy/YmF6=_-~.0123456789  \n', { mode: 0o600 });
      expect(loadOrCreateToken(path).token).toBe('Zm9v+YmFy/YmF6=_-~.0123456789');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('map sizes and interfaces', () => {
  it('refuse map sizes the kernel or the flow table cannot hold, naming the flag', () => {
    expect(() => parse(['--links-map-size', '4294967296'])).toThrow(/^--links-map-size: 4294967296 is more than 134217728, the most a kernel hash map holds$/);
    expect(() => parse(['--links-map-size', '200000000'])).toThrow(/^--links-map-size: 200000000 is more than 134217728/);
    expect(() => parse([], { WEFT_FLOWS_MAP_SIZE: '99999999999999999999' })).toThrow(/^--flows-map-size: 99999999999999999999 is more than 67108864, the most the flow table holds$/);
    expect(parse(['--links-map-size', '134217728', '--flows-map-size', '67108864'])).toMatchObject({ linksMapSize: 134217728, flowsMapSize: 67108864 });
  });

  it('refuse an interface pattern that can name no interface before anything starts', () => {
    expect(() => parse(['--interfaces', 'eth0,bad/name'])).toThrow(/^--interfaces: "bad\/name": "bad\/name" is not an interface name or pattern/);
    expect(() => parse([], { WEFT_INTERFACES: 'bad ns:eth0' })).toThrow(/^--interfaces: "bad ns:eth0": "bad ns" is not a network namespace name/);
    expect(parse(['--interfaces', 'ns1:veth*,eth0']).interfaces).toEqual(['ns1:veth*', 'eth0']);
  });
});
