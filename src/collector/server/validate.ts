// Client messages from untrusted text: each problem becomes an error code and a sentence that
// says what was wrong, never an exception.
import { AGGREGATION_LEVELS, VALUE_FIELDS, type ClientMessage, type ErrorCode, type Filters, type SubscriptionSpec, type TableName, type ValueField, type AggregationLevel } from '../../protocol/index.js';

export type Parsed = { ok: true; msg: ClientMessage } | { ok: false; code: ErrorCode; message: string; ref?: string };

const TYPES = ['hello', 'subscribe', 'unsubscribe', 'resync', 'query', 'values', 'ping', 'pong'] as const;
const TABLES: TableName[] = ['links', 'flows'];
const STRING_FILTERS = ['namespace', 'kind', 'protocol', 'name', 'interface', 'endpoint', 'peer'] as const;
const ID_MAX = 128;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= ID_MAX;

export function parseClientMessage(text: string): Parsed {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { ok: false, code: 'malformed', message: `message is not JSON: ${(e as Error).message}` };
  }
  if (!isObj(v)) return { ok: false, code: 'malformed', message: 'message must be a JSON object' };
  if (typeof v.type !== 'string') return { ok: false, code: 'malformed', message: 'message has no "type" string' };
  if (!(TYPES as readonly string[]).includes(v.type)) {
    return { ok: false, code: 'unknown-type', message: `unknown message type "${v.type.slice(0, 40)}"; expected one of ${TYPES.join(', ')}` };
  }
  const bad = (message: string, ref?: string): Parsed => ({ ok: false, code: 'bad-request', message: `${v.type}: ${message}`, ...(ref !== undefined ? { ref } : {}) });
  switch (v.type) {
    case 'hello':
      if (typeof v.protocol !== 'number' || !Number.isInteger(v.protocol)) return bad('"protocol" must be an integer');
      return { ok: true, msg: { type: 'hello', protocol: v.protocol, client: typeof v.client === 'string' ? v.client.slice(0, 200) : 'unknown' } };
    case 'ping':
    case 'pong':
      return { ok: true, msg: { type: v.type, t: typeof v.t === 'number' ? v.t : 0 } };
    case 'unsubscribe':
    case 'resync':
      if (!isId(v.sub)) return bad(`"sub" must be a string of 1 to ${ID_MAX} characters`);
      return { ok: true, msg: { type: v.type, sub: v.sub } };
    case 'values': {
      if (!isId(v.id)) return bad(`"id" must be a string of 1 to ${ID_MAX} characters`);
      if (!(VALUE_FIELDS as readonly unknown[]).includes(v.field)) return bad(`"field" must be one of ${VALUE_FIELDS.join(', ')}`, v.id);
      return { ok: true, msg: { type: 'values', id: v.id, field: v.field as ValueField } };
    }
    case 'subscribe': {
      if (!isId(v.sub)) return bad(`"sub" must be a string of 1 to ${ID_MAX} characters`);
      const spec = parseSpec(v);
      if (typeof spec === 'string') return bad(spec, v.sub);
      return { ok: true, msg: { type: 'subscribe', sub: v.sub, ...spec } };
    }
    case 'query': {
      if (!isId(v.id)) return bad(`"id" must be a string of 1 to ${ID_MAX} characters`);
      const spec = parseSpec(v);
      if (typeof spec === 'string') return bad(spec, v.id);
      const range = parseRange(v.from, v.to);
      if (typeof range === 'string') return bad(range, v.id);
      return { ok: true, msg: { type: 'query', id: v.id, ...spec, ...range } };
    }
  }
  return { ok: false, code: 'unknown-type', message: `unknown message type "${v.type}"` };
}

export function parseRange(from: unknown, to: unknown): { from: number; to: number } | string {
  if (typeof from !== 'number' || typeof to !== 'number' || !Number.isFinite(from) || !Number.isFinite(to)) return '"from" and "to" must be epoch milliseconds';
  if (from > to) return '"from" must not be after "to"';
  return { from, to };
}

/** The subscription spec in `v`, or a sentence saying what is wrong with it. */
export function parseSpec(v: Obj): SubscriptionSpec | string {
  if (!(TABLES as unknown[]).includes(v.table)) return `"table" must be one of ${TABLES.join(', ')}`;
  const spec: SubscriptionSpec = { table: v.table as TableName };
  if (v.aggregate !== undefined) {
    if (!(AGGREGATION_LEVELS as readonly unknown[]).includes(v.aggregate)) return `"aggregate" must be one of ${AGGREGATION_LEVELS.join(', ')}`;
    spec.aggregate = v.aggregate as AggregationLevel;
  }
  if (v.top !== undefined) {
    if (typeof v.top !== 'number' || !Number.isInteger(v.top) || v.top < 0 || v.top > 1_000_000) return '"top" must be an integer from 0 to 1000000';
    spec.top = v.top;
  }
  if (v.filter !== undefined) {
    if (!isObj(v.filter)) return '"filter" must be an object';
    const f: Filters = {};
    for (const [k, val] of Object.entries(v.filter)) {
      if (k === 'port') {
        if (typeof val !== 'number' || !Number.isInteger(val) || val < 0 || val > 65535) return 'filter "port" must be an integer from 0 to 65535';
        f.port = val;
      } else if ((STRING_FILTERS as readonly string[]).includes(k)) {
        if (typeof val !== 'string' || val.length > 256) return `filter "${k}" must be a string of at most 256 characters`;
        f[k as (typeof STRING_FILTERS)[number]] = val;
      } else {
        return `unknown filter "${k.slice(0, 40)}"; filters are port, ${STRING_FILTERS.join(', ')}`;
      }
    }
    if (Object.keys(f).length > 0) spec.filter = f;
  }
  return spec;
}

/** One string per distinct spec, so clients asking for the same thing share one view. */
export function specKey(spec: SubscriptionSpec): string {
  const f = spec.filter ?? {};
  const filter = Object.keys(f)
    .sort()
    .map((k) => [k, f[k as keyof Filters]]);
  return JSON.stringify([spec.table, spec.aggregate ?? 'endpoint', spec.top ?? 0, filter]);
}
