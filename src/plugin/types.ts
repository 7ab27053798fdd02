// The plugin's own shapes: what a panel query and a data source's settings hold.
import type { DataQuery, DataSourceJsonData } from '@grafana/data';
import type { AggregationLevel, Filters, TableName, ValueField } from '../protocol/index.js';

/** Which figure a node's and an edge's main stat shows. */
export type MainStat = 'throughput' | 'bytes' | 'connections' | 'rtt';

/** Filters as typed in the editor: strings, so they may hold template variables like $namespace. */
export type QueryFilters = { [K in keyof Filters]?: string };

/** A collector table, or the collector's own status (for health stats on a dashboard). */
export type QueryKind = TableName | 'status';

export interface WeftQuery extends DataQuery {
  table: QueryKind;
  /** A level, or a template variable that holds one (e.g. $level). */
  aggregate: AggregationLevel | string;
  filter?: QueryFilters;
  /** At most this many records from the collector; 0 = no bound. */
  top: number;
  mainstat: MainStat;
  /** Stream changes as they happen; off = answer from the collector's history for the time range. */
  live: boolean;
}

export const DEFAULT_QUERY: Omit<WeftQuery, 'refId'> = {
  table: 'links',
  aggregate: 'process',
  top: 500,
  mainstat: 'throughput',
  live: true,
};

export type AccessMode = 'proxy' | 'direct';

export interface WeftOptions extends DataSourceJsonData {
  /** proxy: browser → Grafana's data source proxy → collector; direct: browser → collector with a ticket. */
  access?: AccessMode;
  /** Direct mode: the collector's URL as the browser reaches it (ws:// or wss://, or http(s)://). */
  directUrl?: string;
}

export interface WeftSecureOptions {
  token?: string;
}

/** Variable queries: which field's values to list. */
export interface WeftVariableQuery {
  field: ValueField;
}
