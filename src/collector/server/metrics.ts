// /metrics: the collector's own health in Prometheus text, plus the links as Caretta's series.
// Gauges read their values at scrape time, so nothing is kept twice.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LinkRecord } from '../../protocol/index.js';
import { CARETTA_LABELS, carettaSeries } from './caretta.js';

export interface MetricsSources {
  links(): LinkRecord[];
  tableSizes(): Record<string, number>;
  clients(): number;
  subscriptions(): number;
  views(): number;
  historyBytes(): Record<string, number>;
  /** Numeric facts from the tables' health providers (map fill, losses, …), by component. */
  components(): Record<string, Record<string, number>>;
}

export interface ServerCounters {
  sent: Counter<'type'>;
  sentBytes: Counter;
  rejected: Counter<'code'>;
  fellBehind: Counter;
}

export function createMetrics(src: MetricsSources, fellBehind: () => number): { registry: Registry; counters: ServerCounters } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break Prometheus naming rules (promtool rejects them); the handle and
  // request counts they give are in nodejs_active_* without the suffix anyway.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const registers = [registry];

  new Gauge({
    name: 'caretta_links_observed',
    help: 'Bytes moved over each link (both ways) since it was first seen; Caretta-compatible labels.',
    labelNames: CARETTA_LABELS,
    registers,
    collect() {
      this.reset();
      // Links with equal Caretta labels (e.g. two client processes of one workload) add up.
      const sums = new Map<string, { labels: Record<string, string>; value: number }>();
      for (const r of src.links()) {
        const { labels, value } = carettaSeries(r);
        const key = JSON.stringify(labels);
        const s = sums.get(key);
        if (s) s.value += value;
        else sums.set(key, { labels, value });
      }
      for (const s of sums.values()) this.set(s.labels, s.value);
    },
  });
  new Gauge({
    name: 'weft_table_records',
    help: 'Records in each table.',
    labelNames: ['table'],
    registers,
    collect() {
      for (const [table, n] of Object.entries(src.tableSizes())) this.set({ table }, n);
    },
  });
  new Gauge({
    name: 'weft_history_bytes',
    help: 'Estimated memory held by each table history window.',
    labelNames: ['table'],
    registers,
    collect() {
      for (const [table, n] of Object.entries(src.historyBytes())) this.set({ table }, n);
    },
  });
  new Gauge({
    name: 'weft_clients',
    help: 'Connected WebSocket clients.',
    registers,
    collect() {
      this.set(src.clients());
    },
  });
  new Gauge({
    name: 'weft_subscriptions',
    help: 'Live subscriptions, and (views) distinct specs they share.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.set({ kind: 'subscriptions' }, src.subscriptions());
      this.set({ kind: 'views' }, src.views());
    },
  });
  new Gauge({
    name: 'weft_component',
    help: 'Numeric health facts reported by the tables (map fill, losses, program run time).',
    labelNames: ['component', 'fact'],
    registers,
    collect() {
      this.reset();
      for (const [component, facts] of Object.entries(src.components())) for (const [fact, v] of Object.entries(facts)) this.set({ component, fact }, v);
    },
  });
  const counters: ServerCounters = {
    sent: new Counter({ name: 'weft_messages_sent_total', help: 'Messages sent to clients, by type.', labelNames: ['type'], registers }),
    sentBytes: new Counter({ name: 'weft_message_bytes_sent_total', help: 'Bytes of messages sent to clients.', registers }),
    rejected: new Counter({ name: 'weft_rejected_total', help: 'Sockets and requests refused, by error code.', labelNames: ['code'], registers }),
    fellBehind: new Counter({
      name: 'weft_clients_fell_behind_total',
      help: 'Times a client socket buffer passed the bound and deltas were replaced by a later snapshot.',
      registers,
      collect() {
        this.reset();
        this.inc(fellBehind());
      },
    }),
  };
  return { registry, counters };
}
