// weft-collector's flags and WEFT_* variables as the config it would run with; the variables are
// set only while parsing.
import { collectorCommand, toConfig, type CollectorConfig } from '../../src/collector/config.js';

export function collectorArgs(args: string[], env: Record<string, string> = {}): CollectorConfig {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return toConfig(collectorCommand().exitOverride().parse(['node', 'weft-collector', ...args]).opts());
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}
