// Odd values for the collector's flags and WEFT_* variables: each is refused with a sentence naming
// it, or read as the user meant it; none starts a collector that does something else.
import { describe, expect, it } from 'vitest';
import { collectorCommand, toConfig, type CollectorConfig } from '../../src/collector/config.js';

function parse(args: string[], env: Record<string, string> = {}): CollectorConfig {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return toConfig(collectorCommand().exitOverride().parse(['node', 'weft-collector', ...args]).opts());
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

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
