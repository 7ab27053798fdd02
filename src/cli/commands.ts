// What `weft links`, `weft flows` and `weft watch` do over the protocol.
import { readFileSync } from 'node:fs';
import { AGGREGATION_LEVELS, type AggregationLevel, type DeltaMessage, type FlowRecord, type Filters, type LinkRecord, type ResultMessage, type ServerMessage, type SnapshotMessage, type SubscriptionSpec, type TableName } from '../protocol/index.js';
import { closedText, WeftClient } from './client.js';
import { changeLine, flowsTable, linksTable, type ChangeEvent } from './format.js';
import { LiveView } from './live-view.js';

export interface CommonOptions {
  server: string;
  tokenFile: string;
  json?: boolean;
  aggregate?: string;
  top?: string;
  namespace?: string;
  kind?: string;
  port?: string;
  protocol?: string;
  name?: string;
  interface?: string;
  from?: string;
  to?: string;
}

export function readToken(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read the token from ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --token-file PATH`);
  }
  // Sent empty, the collector would answer with a complaint about the Authorization header.
  if (!token) throw new Error(`the token file ${path} is empty; pass --token-file PATH`);
  return token;
}

function wholeNumber(option: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) > max) throw new Error(`--${option} ${text} is not a whole number from 0 to ${max}`);
  return Number(text);
}

/** The subscription the options ask for; bad values are refused here, before any connection. */
export function specFrom(table: TableName, o: CommonOptions): SubscriptionSpec {
  const filter: Filters = {};
  if (o.namespace) filter.namespace = o.namespace;
  if (o.kind) filter.kind = o.kind;
  if (o.port) filter.port = wholeNumber('port', o.port, 65535);
  if (o.protocol) filter.protocol = o.protocol;
  if (o.name) filter.name = o.name;
  if (o.interface) filter.interface = o.interface;
  const spec: SubscriptionSpec = { table };
  if (Object.keys(filter).length) spec.filter = filter;
  if (o.aggregate) {
    if (!(AGGREGATION_LEVELS as readonly string[]).includes(o.aggregate)) throw new Error(`--aggregate ${o.aggregate} is not one of: ${AGGREGATION_LEVELS.join(', ')}`);
    spec.aggregate = o.aggregate as AggregationLevel;
  }
  if (o.top) spec.top = wholeNumber('top', o.top, Number.MAX_SAFE_INTEGER);
  return spec;
}

/** "now", epoch ms, an ISO date, or "-5m"-style offsets from now. */
export function parseTime(text: string, now = Date.now()): number {
  if (text === 'now') return now;
  const rel = /^-(\d+)(ms|s|m|h)$/.exec(text);
  if (rel) return now - Number(rel[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 'ms' | 's' | 'm' | 'h'];
  if (/^\d+$/.test(text)) return Number(text);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`"${text}" is not a time: use now, -5m, epoch milliseconds or an ISO date`);
  return t;
}

async function connect(o: CommonOptions, signal?: AbortSignal): Promise<WeftClient> {
  return WeftClient.connect({ server: o.server, token: readToken(o.tokenFile), client: 'weft-cli', signal });
}

/** A message without what weft reads from it is the collector's fault: the sentence that says so. */
function unreadable(m: ServerMessage, e: unknown): string {
  return `the collector sent a ${m.type} weft cannot read (${(e as Error).message})`;
}

/** `weft links` / `weft flows`: the current records (or what moved within --from/--to), once. */
export async function list(table: TableName, o: CommonOptions, out: (s: string) => void): Promise<void> {
  const spec = specFrom(table, o);
  const now = Date.now();
  const range = o.from || o.to ? ([parseTime(o.from ?? '-1h', now), parseTime(o.to ?? 'now', now)] as const) : undefined;
  const client = await connect(o);
  try {
    let answer: ResultMessage | SnapshotMessage;
    if (range) {
      answer = await client.query('q', spec, range[0], range[1]);
    } else {
      const snap = client.next((m): m is SnapshotMessage => m.type === 'snapshot' && m.sub === 'list', 'list');
      client.subscribe('list', spec);
      answer = await snap;
    }
    let text: string;
    try {
      const records = answer.records;
      text = o.json ? JSON.stringify(records, null, 2) : table === 'links' ? linksTable(records as LinkRecord[]) : flowsTable(records as FlowRecord[]);
    } catch (e) {
      throw new Error(unreadable(answer, e));
    }
    out(text);
  } finally {
    await client.close();
  }
}

/** `weft watch`: every change as it arrives, until interrupted or the collector goes away. */
export async function watch(table: TableName, o: CommonOptions, out: (s: string) => void, signal?: AbortSignal): Promise<void> {
  const spec = specFrom(table, o);
  let client: WeftClient;
  try {
    client = await connect(o, signal);
  } catch (e) {
    // Interrupted while connecting: stopped as asked.
    if (signal?.aborted) return;
    throw e;
  }
  const view = new LiveView<LinkRecord | FlowRecord>();
  let first = true;
  // Why the collector's side ended the watch; said on stderr, so stdout holds only records.
  let ended: string | undefined;
  const print = (event: ChangeEvent, r: LinkRecord | FlowRecord, at: Date): void => out(o.json ? JSON.stringify({ time: at.getTime(), event, record: r }) : changeLine(event, r, at));
  client.onMessage((m: ServerMessage) => {
    if (m.type === 'error') {
      // The subscription was refused, or the session is over: nothing more will come, so stop waiting.
      ended ??= `${m.message} (${m.code})`;
      return void client.close();
    }
    if ((m.type !== 'snapshot' && m.type !== 'delta') || m.sub !== 'watch') return;
    try {
      const applied = view.apply(m as SnapshotMessage<LinkRecord | FlowRecord> | DeltaMessage<LinkRecord | FlowRecord>);
      if (!applied.ok) return client.send({ type: 'resync', sub: 'watch' });
      const at = new Date(m.time);
      // The first snapshot is the starting state, shown as additions like `hubble observe` shows history.
      for (const r of applied.added) print('added', r, at);
      if (!first || m.type === 'delta') for (const r of applied.changed) print('changed', r, at);
      for (const r of applied.removed) print('removed', r, at);
      first = false;
    } catch (e) {
      // Thrown on, it would crash the process from inside the socket's message handler.
      ended ??= unreadable(m, e);
      void client.close();
    }
  });
  client.subscribe('watch', spec);
  await new Promise<void>((resolve) => {
    client.ws.once('close', (code, reason) => {
      // Only an interrupt ends a watch as asked; any other close is the collector ending it.
      if (!signal?.aborted) ended ??= closedText(code, reason.toString());
      resolve();
    });
    signal?.addEventListener('abort', () => void client.close());
  });
  if (ended) throw new Error(ended);
}
