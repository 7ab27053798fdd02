// A panel query, with its template variables filled in, as the collector's subscription spec.
import { AGGREGATION_LEVELS, type AggregationLevel, type Filters, type SubscriptionSpec, type TableName } from '../protocol/index.js';
import type { QueryFilters, WeftQuery } from './types.js';

export type Interpolate = (value: string) => string;

const KEYS: Array<keyof QueryFilters> = ['namespace', 'kind', 'port', 'protocol', 'name', 'interface', 'endpoint', 'peer'];

/** The query's filters with variables replaced; empty ones dropped; `port` checked to be a number. */
export function toFilters(filter: QueryFilters | undefined, interpolate: Interpolate): Filters {
  const out: Filters = {};
  for (const key of KEYS) {
    const raw = filter?.[key];
    if (raw === undefined || raw === '') {
      continue;
    }
    // Dashboard JSON written by hand may hold a number ("port": 8080), as the protocol does.
    const value = interpolate(String(raw)).trim();
    // A variable set to "All" interpolates to a glob or an empty string: no filter.
    if (value === '' || value === '*' || value === '$__all') {
      continue;
    }
    if (key === 'port') {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`Port filter "${value}" is not a port number (0-65535).`);
      }
      out.port = port;
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The aggregation level, which may come from a variable such as $level. */
export function toLevel(aggregate: string, interpolate: Interpolate): AggregationLevel {
  const level = interpolate(aggregate).trim();
  if (!(AGGREGATION_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`Group by "${level}" is not one of: ${AGGREGATION_LEVELS.join(', ')}.`);
  }
  return level as AggregationLevel;
}

export function toSpec(q: WeftQuery & { table: TableName }, interpolate: Interpolate): SubscriptionSpec {
  const spec: SubscriptionSpec = { table: q.table, aggregate: toLevel(q.aggregate, interpolate), filter: toFilters(q.filter, interpolate) };
  if (q.top > 0) {
    spec.top = q.top;
  }
  return spec;
}
