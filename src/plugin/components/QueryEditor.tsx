// A Weft query: which table, grouped how, filtered how, bounded how, showing which figure, live or
// over the dashboard's time range.
import type { ChangeEvent } from 'react';
import type { QueryEditorProps, SelectableValue } from '@grafana/data';
import { InlineField, InlineFieldRow, InlineSwitch, Input, RadioButtonGroup, Select } from '@grafana/ui';
import { AGGREGATION_LEVELS, type AggregationLevel } from '../../protocol/index.js';
import type { WeftDataSource } from '../datasource.js';
import { DEFAULT_QUERY, type MainStat, type QueryFilters, type QueryKind, type WeftOptions, type WeftQuery } from '../types.js';

export type QueryEditorPropsT = QueryEditorProps<WeftDataSource, WeftQuery, WeftOptions>;

const TABLES: Array<SelectableValue<QueryKind>> = [
  { label: 'Links', value: 'links', description: 'Who talks to whom: the Node Graph' },
  { label: 'Flows', value: 'flows', description: 'What each interface saw, per 5-tuple: a table' },
  { label: 'Collector status', value: 'status', description: 'Version, kernel features and table sizes: for health stats' },
];

// A Record, so a level added to the protocol cannot be left without a label here.
const LEVEL_LABELS: Record<AggregationLevel, string> = {
  endpoint: 'Endpoint (address)',
  process: 'Process',
  netns: 'Network namespace',
  pod: 'Pod',
  workload: 'Workload',
  namespace: 'Namespace',
  node: 'Node',
};
const LEVELS: Array<SelectableValue<string>> = AGGREGATION_LEVELS.map((value) => ({ label: LEVEL_LABELS[value], value }));

const STATS: Array<SelectableValue<MainStat>> = [
  { label: 'Throughput', value: 'throughput' },
  { label: 'Bytes', value: 'bytes' },
  { label: 'Connections', value: 'connections' },
  { label: 'RTT', value: 'rtt' },
];

const FILTERS: Array<{ key: keyof QueryFilters; label: string; placeholder: string; flowsOnly?: boolean }> = [
  { key: 'namespace', label: 'Namespace', placeholder: 'any, or $namespace' },
  { key: 'name', label: 'Name', placeholder: 'substring of a name or IP' },
  { key: 'port', label: 'Port', placeholder: 'any' },
  { key: 'protocol', label: 'Protocol', placeholder: 'tcp, udp' },
  { key: 'kind', label: 'Kind', placeholder: 'pod, process, external' },
  { key: 'interface', label: 'Interface', placeholder: 'eth0', flowsOnly: true },
];

export function QueryEditor({ query: raw, onChange, onRunQuery }: QueryEditorPropsT) {
  const query: WeftQuery = { ...DEFAULT_QUERY, ...raw };
  const change = (patch: Partial<WeftQuery>, run = true) => {
    onChange({ ...query, ...patch });
    if (run) {
      onRunQuery();
    }
  };
  const isTable = query.table !== 'status';
  // A variable such as $level is kept as typed and offered alongside the levels.
  const levelOptions: Array<SelectableValue<string>> = LEVELS.some((l) => l.value === query.aggregate)
    ? LEVELS
    : [...LEVELS, { label: query.aggregate, value: query.aggregate }];
  const setFilter = (key: keyof QueryFilters, value: string) => change({ filter: { ...query.filter, [key]: value } }, false);

  return (
    <>
      <InlineFieldRow>
        <InlineField label="Table" labelWidth={14}>
          <RadioButtonGroup<QueryKind> options={TABLES} value={query.table} onChange={(table) => change({ table })} />
        </InlineField>
        {isTable && (
          <>
            <InlineField label="Group by" labelWidth={12}>
              <Select<string>
                inputId="weft-aggregate"
                width={24}
                options={levelOptions}
                value={query.aggregate}
                allowCustomValue
                onChange={(v) => v.value && change({ aggregate: v.value })}
              />
            </InlineField>
            <InlineField label="Top" labelWidth={8} tooltip="At most this many records from the collector, largest first; 0 for all">
              <Input
                id="weft-top"
                type="number"
                width={10}
                min={0}
                value={query.top}
                onChange={(e: ChangeEvent<HTMLInputElement>) => change({ top: Math.max(0, Math.floor(Number(e.currentTarget.value) || 0)) }, false)}
                onBlur={onRunQuery}
              />
            </InlineField>
          </>
        )}
        <InlineField label="Live" labelWidth={8} tooltip="Stream changes as they happen; off answers from the collector's history for the dashboard's time range">
          <InlineSwitch id="weft-live" value={query.live} onChange={(e: ChangeEvent<HTMLInputElement>) => change({ live: e.currentTarget.checked })} />
        </InlineField>
      </InlineFieldRow>
      {query.table === 'links' && (
        <InlineFieldRow>
          <InlineField label="Main stat" labelWidth={14}>
            <RadioButtonGroup<MainStat> options={STATS} value={query.mainstat} onChange={(mainstat) => change({ mainstat })} />
          </InlineField>
        </InlineFieldRow>
      )}
      {isTable && (
        <InlineFieldRow>
          {FILTERS.filter((f) => !f.flowsOnly || query.table === 'flows').map((f) => (
            <InlineField key={f.key} label={f.label} labelWidth={12}>
              <Input
                id={`weft-filter-${f.key}`}
                width={20}
                placeholder={f.placeholder}
                value={query.filter?.[f.key] ?? ''}
                onChange={(e: ChangeEvent<HTMLInputElement>) => setFilter(f.key, e.currentTarget.value)}
                onBlur={onRunQuery}
              />
            </InlineField>
          ))}
        </InlineFieldRow>
      )}
    </>
  );
}
