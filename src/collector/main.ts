// `weft-collector`: flags → config → token → tables → service, and a clean stop on SIGINT/SIGTERM.
// The tables are opened by the function handed in, so the same command runs over the kernel
// (./cli.ts) or over tables a test feeds. By default the service is served by an unprivileged
// child process (./privsep/); --no-privsep serves it from this process.
import './heap-flags.js';
import { CommanderError } from 'commander';
import { WS_PATH } from '../protocol/index.js';
import { collectorCommand, ConfigError, toConfig, type CollectorConfig } from './config.js';
import type { CollectorParts } from './collector.js';
import { describePrivileges, noCapabilities, processPrivileges } from './privsep/process-status.js';
import { startPrivsep } from './privsep/supervisor.js';
import { lookupUser, UserError, type ServerUser } from './privsep/user.js';
import { checkListen } from './listen-check.js';
import { checkTlsFiles } from './tls-files.js';
import { defaultTokenPath, loadOrCreateToken } from './token.js';

/** `isolate`: the user to parse network input as (the resolver's DNS answers, Kubernetes API responses); absent with --no-privsep. */
export type OpenTables = (config: CollectorConfig, privileges: { isolate?: ServerUser }) => Promise<CollectorParts>;

function describeFeatures(parts: CollectorParts): string {
  const f = parts.features;
  const tps = Object.entries(f.tracepoints)
    .map(([k, v]) => `${k}${v ? '' : ' (missing)'}`)
    .join(', ');
  return [`kernel ${f.kernelRelease}`, `BTF ${f.btf ? 'yes' : 'no'}`, `ring buffer ${f.ringbuf ? 'yes' : 'no'}`, `tcx ${f.tcx ? 'yes' : 'no (clsact)'}`, `bpf stats ${f.bpfStats ? 'on' : 'off'}`, `kprobes ${f.kprobes ? 'yes' : 'no'}`, `tracepoints: ${tps || 'none'}`].join('; ');
}

function urls(config: CollectorConfig, port: number): { http: string; ws: string } {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { http: `${config.tls ? 'https' : 'http'}://${host}:${port}`, ws: `${config.tls ? 'wss' : 'ws'}://${host}:${port}${WS_PATH}` };
}

/** The user to serve as, or undefined to serve from this process; throws UserError when neither works. */
function serverUser(config: CollectorConfig, log: (line: string) => void): ServerUser | undefined {
  if (!config.privsep) return undefined;
  if (process.getuid?.() !== 0) {
    if (noCapabilities(processPrivileges().capEff)) {
      log('weft-collector: not root and without capabilities: nothing to drop, serving from this process');
      return undefined;
    }
    throw new UserError('privilege separation needs root (to start the server process as --user); run as root or pass --no-privsep');
  }
  return lookupUser(config.user);
}

export async function main(argv: string[], openTables: OpenTables, log: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const program = collectorCommand().exitOverride();
  let config: CollectorConfig;
  let user: ServerUser | undefined;
  try {
    program.parse(argv);
    config = toConfig(program.opts());
    if (config.tls) checkTlsFiles(config.tls);
    await checkListen(config.host, config.port);
    user = serverUser(config, log);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof ConfigError || e instanceof UserError) {
      console.error(`weft-collector: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  // Signals are taken from here on. One that comes while starting waits until what started can be
  // closed (dying there left the server, resolver and conntrack processes behind); one that comes
  // while stopping does not cut the stop short.
  let requested: { why: string; exitCode?: number } | undefined;
  let stop: (why: string, exitCode?: number) => void = (why, exitCode) => {
    if (requested) return;
    requested = { why, ...(exitCode === undefined ? {} : { exitCode }) };
    log(`weft-collector: ${why} while starting: stopping once started`);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // The terminal it ran in went away: there is no configuration to reload, so stop as cleanly.
  process.on('SIGHUP', () => stop('SIGHUP'));
  const t = loadOrCreateToken(config.tokenFile ?? defaultTokenPath());
  log(t.created ? `weft-collector: new token written to ${t.path} (mode 0600)` : `weft-collector: token from ${t.path}`);
  if (t.warning) log(`weft-collector: warning: ${t.warning}`);

  const parts = await openTables(config, user ? { isolate: user } : {});
  log(`weft-collector: ${describeFeatures(parts)}`);
  let close: (reason: string) => Promise<void>;
  let port: number;
  try {
    if (user) {
      const ps = await startPrivsep(config, t.token, parts, { user, log, onGiveUp: () => stop('server process keeps failing', 1) });
      port = ps.port;
      close = async (reason) => {
        await ps.close(reason);
        await parts.close();
      };
      log(`weft-collector: serving from process ${ps.serverPid()} as ${describePrivileges(ps.serverPid())}; this process keeps the kernel programs (--no-privsep serves from here)`);
    } else {
      // The server's code (HTTP, WebSocket, metrics) is loaded only where it serves: with privilege
      // separation that is the server process, and this one stays without it.
      const { runCollector } = await import('./collector.js');
      const running = await runCollector(config, t.token, parts);
      port = running.server.port;
      close = (reason) => running.close(reason);
    }
  } catch (e) {
    await parts.close();
    throw e;
  }
  const u = urls(config, port);
  log(`weft-collector: listening on ${u.http} (WebSocket ${u.ws}, health ${u.http}/healthz)`);
  if (config.allowedOrigins.length > 0) log(`weft-collector: browser origins allowed: ${config.allowedOrigins.join(', ')}`);

  let stopping = false;
  stop = (why: string, exitCode = 0): void => {
    if (stopping) return;
    stopping = true;
    log(`weft-collector: ${why}: closing clients and detaching programs`);
    close(`collector stopped (${why})`)
      .then(() => {
        log('weft-collector: stopped');
        process.exitCode = exitCode;
        // Anything still holding the event loop open after a clean stop is not worth waiting for.
        setTimeout(() => process.exit(), 2000).unref();
      })
      .catch((e: Error) => {
        console.error(`weft-collector: error while stopping: ${e.message}`);
        process.exitCode = 1;
      });
  };
  if (requested) stop(requested.why, requested.exitCode);
}
