// The collector's settings: every flag has a WEFT_* environment twin, and `--help` lists both.
import { Command, Option } from 'commander';
import { parseInterfaceSpec } from './interfaces/spec.js';
import type { HistoryOptions } from './tables/history.js';

export interface CollectorConfig {
  host: string;
  port: number;
  /** Interface names and wildcards for the flows table; empty = the flows collector's default. */
  interfaces: string[];
  tokenFile?: string;
  linksMapSize?: number;
  flowsMapSize?: number;
  pollIntervalMs: number;
  history: HistoryOptions;
  figuresIntervalMs: number;
  tls?: { certFile: string; keyFile: string };
  allowedOrigins: string[];
  /** Keep the collector's own sockets in the tables (off: watching the graph would change it). */
  includeSelf: boolean;
  maxMessageBytes: number;
  maxClientBufferBytes: number;
  /** Serve and resolve from separate processes with no privileges (docs/collector.md, Privileges). */
  privsep: boolean;
  /** Who those processes run as: a user name, or UID[:GID]. */
  user: string;
}

export class ConfigError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The longest delay Node's timers take (2^31 - 1 ms, about 596 h); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** "500ms", "10s", "5m", "1h" or a plain number of milliseconds; whole milliseconds, at least 1 and at most maxMs. */
export function parseDuration(text: string, what: string, maxMs = Infinity): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new ConfigError(`${what}: "${text}" is not a duration (e.g. 500ms, 10s, 5m, 1h)`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  if (ms <= 0) throw new ConfigError(`${what} must be more than zero`);
  if (Math.round(ms) < 1) throw new ConfigError(`${what}: "${text}" is less than 1ms`);
  if (ms > maxMs) throw new ConfigError(`${what}: "${text}" is longer than ${Math.floor(maxMs / 3_600_000)}h`);
  return Math.round(ms);
}

function parseCount(text: string, what: string, max = Number.MAX_SAFE_INTEGER, why = ''): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new ConfigError(`${what}: "${text}" is not a positive whole number`);
  if (Number(text) > max) throw new ConfigError(`${what}: ${text.trim()} is more than ${max}${why}`);
  return Number(text);
}

/** A kernel hash map has at most 2^32 / 16 buckets, one per entry rounded up to a power of two. */
const MAX_LINKS_MAP = 2 ** 27;
/** The flow program's own table (kernel/flows-program.ts). */
const MAX_FLOWS_MAP = 2 ** 26;

export function parseListen(text: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(text.trim());
  if (!m || Number(m[2]) > 65535) throw new ConfigError(`--listen: "${text}" is not HOST:PORT (e.g. 127.0.0.1:7317, [::1]:7317, 0.0.0.0:7317)`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** A WEFT_* switch's value: 1/true/yes/on or 0/false/no/off (empty is off). */
export function parseSwitch(name: string, value: string | undefined): boolean {
  const v = (value ?? '').trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['', '0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}: "${value}" is not 1 or 0 (true/false, yes/no, on/off)`);
}

export function collectorCommand(): Command {
  const opt = (flags: string, description: string, env: string, def?: string): Option => {
    const o = new Option(flags, description).env(env);
    return def === undefined ? o : o.default(def);
  };
  const command = new Command('weft-collector')
    .description('Watches the kernel with eBPF and serves live links and flows over WebSocket (see docs/collector.md).')
    .addOption(opt('--listen <host:port>', 'address to serve HTTP and WebSocket on', 'WEFT_LISTEN', '127.0.0.1:7317'))
    .addOption(opt('--interfaces <list>', 'interfaces for the flows table: names and wildcards, comma-separated (e.g. "eth*,ens3")', 'WEFT_INTERFACES'))
    .addOption(opt('--token-file <path>', 'bearer token file; created with a new token (mode 0600) when missing [default: /var/lib/weft/token as root, else $XDG_STATE_HOME/weft/token]', 'WEFT_TOKEN_FILE'))
    .addOption(opt('--links-map-size <n>', 'entries in the kernel links map', 'WEFT_LINKS_MAP_SIZE'))
    .addOption(opt('--flows-map-size <n>', 'entries in the kernel flows map', 'WEFT_FLOWS_MAP_SIZE'))
    .addOption(opt('--poll-interval <duration>', 'how often the kernel maps are read', 'WEFT_POLL_INTERVAL', '100ms'))
    .addOption(opt('--history <duration>', 'how far back the history window reaches', 'WEFT_HISTORY', '1h'))
    .addOption(opt('--history-resolution <duration>', 'finest interval kept in the history', 'WEFT_HISTORY_RESOLUTION', '10s'))
    .addOption(opt('--history-budget <MiB>', 'memory for the history of each table; older intervals coarsen to fit', 'WEFT_HISTORY_BUDGET', '32'))
    .addOption(opt('--figures-interval <duration>', 'cadence of figure updates (bytes, rates, RTT) to clients; topology changes go out at once', 'WEFT_FIGURES_INTERVAL', '2s'))
    .addOption(opt('--tls-cert <path>', 'PEM certificate: serve https and wss', 'WEFT_TLS_CERT'))
    .addOption(opt('--tls-key <path>', 'PEM private key for --tls-cert', 'WEFT_TLS_KEY'))
    .addOption(opt('--allowed-origins <list>', 'browser origins allowed to open the socket or get tickets, comma-separated (e.g. https://grafana.example.com)', 'WEFT_ALLOWED_ORIGINS', ''))
    .addOption(new Option('--include-self', "keep the collector's own connections in the tables").env('WEFT_INCLUDE_SELF'))
    .addOption(opt('--max-message-bytes <n>', 'largest client message accepted', 'WEFT_MAX_MESSAGE_BYTES', String(64 * 1024)))
    .addOption(opt('--max-client-buffer <MiB>', 'socket buffer above which a client gets a fresh snapshot later instead of more deltas', 'WEFT_MAX_CLIENT_BUFFER', '8'))
    .addOption(opt('--user <name|uid[:gid]>', 'user the server and resolver processes (everything that parses network input) run as, with no capabilities', 'WEFT_USER', 'nobody'))
    .addOption(new Option('--no-privsep', 'serve from the privileged process itself instead of an unprivileged child (WEFT_NO_PRIVSEP=1)').env('WEFT_NO_PRIVSEP'))
    .helpOption('-h, --help', 'list every flag and its environment variable')
    .showHelpAfterError();
  // Commander turns a switch on whatever its variable holds (WEFT_NO_PRIVSEP=0 would turn privilege
  // separation off): these run after its own handlers and read the value.
  command.on('optionEnv:include-self', () => command.setOptionValueWithSource('includeSelf', parseSwitch('WEFT_INCLUDE_SELF', process.env.WEFT_INCLUDE_SELF), 'env'));
  command.on('optionEnv:no-privsep', () => command.setOptionValueWithSource('privsep', !parseSwitch('WEFT_NO_PRIVSEP', process.env.WEFT_NO_PRIVSEP), 'env'));
  return command;
}

/** Commander's parsed options as a config; throws ConfigError with a sentence on bad values. */
export function toConfig(o: Record<string, string | boolean | undefined>): CollectorConfig {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' && o[k] !== '' ? (o[k] as string) : undefined);
  const { host, port } = parseListen(str('listen') ?? '127.0.0.1:7317');
  const cert = str('tlsCert');
  const key = str('tlsKey');
  if ((cert === undefined) !== (key === undefined)) throw new ConfigError('--tls-cert and --tls-key go together');
  const config: CollectorConfig = {
    host,
    port,
    interfaces: list(str('interfaces') ?? ''),
    pollIntervalMs: parseDuration(str('pollInterval') ?? '100ms', '--poll-interval', MAX_TIMER_MS),
    history: {
      windowMs: parseDuration(str('history') ?? '1h', '--history'),
      resolutionMs: parseDuration(str('historyResolution') ?? '10s', '--history-resolution', MAX_TIMER_MS),
      budgetBytes: parseCount(str('historyBudget') ?? '32', '--history-budget') * 1024 * 1024,
    },
    figuresIntervalMs: parseDuration(str('figuresInterval') ?? '2s', '--figures-interval', MAX_TIMER_MS),
    allowedOrigins: list(str('allowedOrigins') ?? ''),
    includeSelf: o.includeSelf === true,
    maxMessageBytes: parseCount(str('maxMessageBytes') ?? '65536', '--max-message-bytes'),
    maxClientBufferBytes: parseCount(str('maxClientBuffer') ?? '8', '--max-client-buffer') * 1024 * 1024,
    privsep: o.privsep !== false,
    user: str('user') ?? 'nobody',
  };
  try {
    parseInterfaceSpec(config.interfaces.join(','));
  } catch (e) {
    throw new ConfigError(`--${(e as Error).message}`);
  }
  if (config.history.resolutionMs > config.history.windowMs) {
    throw new ConfigError(`--history-resolution (${str('historyResolution')}) is longer than --history (${str('history') ?? '1h'}): the window would hold one interval at most`);
  }
  const tokenFile = str('tokenFile');
  if (tokenFile) config.tokenFile = tokenFile;
  const lm = str('linksMapSize');
  if (lm) config.linksMapSize = parseCount(lm, '--links-map-size', MAX_LINKS_MAP, ', the most a kernel hash map holds');
  const fm = str('flowsMapSize');
  if (fm) config.flowsMapSize = parseCount(fm, '--flows-map-size', MAX_FLOWS_MAP, ', the most the flow table holds');
  if (cert && key) config.tls = { certFile: cert, keyFile: key };
  for (const origin of config.allowedOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) throw new ConfigError(`--allowed-origins: "${origin}" is not an origin like https://grafana.example.com`);
  }
  return config;
}
