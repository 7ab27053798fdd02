// `weft-collector`: flags → config → token → tables → service, and a clean stop on SIGINT/SIGTERM.
// The tables are opened by the function handed in, so the same command runs over the kernel
// (./cli.ts) or over tables a test feeds.
import { CommanderError } from 'commander';
import { collectorCommand, ConfigError, toConfig, type CollectorConfig } from './config.js';
import { runCollector, type CollectorParts } from './collector.js';
import { defaultTokenPath, loadOrCreateToken } from './token.js';

export type OpenTables = (config: CollectorConfig) => Promise<CollectorParts>;

function describeFeatures(parts: CollectorParts): string {
  const f = parts.features;
  const tps = Object.entries(f.tracepoints)
    .map(([k, v]) => `${k}${v ? '' : ' (missing)'}`)
    .join(', ');
  return [`kernel ${f.kernelRelease}`, `BTF ${f.btf ? 'yes' : 'no'}`, `ring buffer ${f.ringbuf ? 'yes' : 'no'}`, `tcx ${f.tcx ? 'yes' : 'no (clsact)'}`, `bpf stats ${f.bpfStats ? 'on' : 'off'}`, `kprobes ${f.kprobes ? 'yes' : 'no'}`, `tracepoints: ${tps || 'none'}`].join('; ');
}

export async function main(argv: string[], openTables: OpenTables, log: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const program = collectorCommand().exitOverride();
  let config: CollectorConfig;
  try {
    program.parse(argv);
    config = toConfig(program.opts());
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof ConfigError) {
      console.error(`weft-collector: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  const t = loadOrCreateToken(config.tokenFile ?? defaultTokenPath());
  log(t.created ? `weft-collector: new token written to ${t.path} (mode 0600)` : `weft-collector: token from ${t.path}`);
  if (t.warning) log(`weft-collector: warning: ${t.warning}`);

  const parts = await openTables(config);
  log(`weft-collector: ${describeFeatures(parts)}`);
  let running;
  try {
    running = await runCollector(config, t.token, parts);
  } catch (e) {
    await parts.close();
    throw e;
  }
  log(`weft-collector: listening on ${running.server.httpUrl} (WebSocket ${running.server.wsUrl}, health ${running.server.httpUrl}/healthz)`);
  if (config.allowedOrigins.length > 0) log(`weft-collector: browser origins allowed: ${config.allowedOrigins.join(', ')}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log(`weft-collector: ${signal}: closing clients and detaching programs`);
    running
      .close(`collector stopped (${signal})`)
      .then(() => {
        log('weft-collector: stopped');
        // Anything still holding the event loop open after a clean stop is not worth waiting for.
        setTimeout(() => process.exit(), 2000).unref();
      })
      .catch((e: Error) => {
        console.error(`weft-collector: error while stopping: ${e.message}`);
        process.exitCode = 1;
      });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
