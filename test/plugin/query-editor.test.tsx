// Each control of the QueryEditor changes the query it hands to Grafana.
import { describe, expect, it } from 'vitest';
import { useState } from 'react';
import { render, screen } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import type { DataSourceInstanceSettings } from '@grafana/data';
import { QueryEditor } from '../../src/plugin/components/QueryEditor.js';
import { WeftDataSource } from '../../src/plugin/datasource.js';
import { DEFAULT_QUERY, type WeftOptions, type WeftQuery } from '../../src/plugin/types.js';

const ds = new WeftDataSource({ uid: 'q', name: 'Weft', url: '/x', jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings<WeftOptions>);

/** Holds the query the way a panel editor does; records every change and every run. */
function Harness({ initial, changes, runs }: { initial: WeftQuery; changes: WeftQuery[]; runs: { n: number } }) {
  const [query, setQuery] = useState(initial);
  return (
    <QueryEditor
      datasource={ds}
      query={query}
      onChange={(q) => {
        changes.push(q);
        setQuery(q);
      }}
      onRunQuery={() => (runs.n += 1)}
    />
  );
}

function setup(initial: Partial<WeftQuery> = {}) {
  const changes: WeftQuery[] = [];
  const runs = { n: 0 };
  const user = userEvent.setup();
  render(<Harness initial={{ refId: 'A', ...DEFAULT_QUERY, ...initial }} changes={changes} runs={runs} />);
  return { user, changes, runs, last: () => changes[changes.length - 1]! };
}

describe('QueryEditor', () => {
  it('switches the table and runs the query', async () => {
    const { user, last, runs } = setup();
    expect(screen.queryByPlaceholderText('eth0')).not.toBeInTheDocument();
    await user.click(screen.getByLabelText('Flows'));
    expect(last().table).toBe('flows');
    expect(runs.n).toBe(1);
    // Flows have an interface filter and no node stat.
    expect(screen.getByPlaceholderText('eth0')).toBeInTheDocument();
    expect(screen.queryByLabelText('Throughput')).not.toBeInTheDocument();
  });

  it('changes the aggregation level', async () => {
    const { user, last, runs } = setup();
    await user.click(screen.getByLabelText('Group by'));
    await user.click(await screen.findByText('Workload'));
    expect(last().aggregate).toBe('workload');
    expect(runs.n).toBe(1);
  });

  it('changes the main stat', async () => {
    const { user, last } = setup();
    await user.click(screen.getByLabelText('RTT'));
    expect(last().mainstat).toBe('rtt');
    await user.click(screen.getByLabelText('Connections'));
    expect(last().mainstat).toBe('connections');
  });

  it('changes top-N, running on blur', async () => {
    const { user, last, runs } = setup();
    const top = screen.getByDisplayValue('500');
    await user.clear(top);
    await user.type(top, '25');
    expect(last().top).toBe(25);
    expect(runs.n).toBe(0);
    await user.tab();
    expect(runs.n).toBe(1);
  });

  it('toggles live', async () => {
    const { user, last, runs } = setup();
    await user.click(screen.getByLabelText('Live'));
    expect(last().live).toBe(false);
    expect(runs.n).toBe(1);
    await user.click(screen.getByLabelText('Live'));
    expect(last().live).toBe(true);
  });

  it('sets each filter, keeping template variables as typed', async () => {
    const { user, last } = setup({ table: 'flows' });
    const typed: Array<[string, keyof NonNullable<WeftQuery['filter']>, string]> = [
      ['any, or $namespace', 'namespace', '$namespace'],
      ['substring of a name or IP', 'name', 'web'],
      ['any', 'port', '443'],
      ['tcp, udp', 'protocol', 'udp'],
      ['pod, process, external', 'kind', 'pod'],
      ['eth0', 'interface', 'veth1'],
    ];
    for (const [placeholder, key, value] of typed) {
      await user.type(screen.getByPlaceholderText(placeholder), value);
      expect(last().filter?.[key]).toBe(value);
    }
    expect(last().filter).toEqual({ namespace: '$namespace', name: 'web', port: '443', protocol: 'udp', kind: 'pod', interface: 'veth1' });
  });

  it('asks only live for a status query', async () => {
    const { user, last } = setup();
    await user.click(screen.getByLabelText('Collector status'));
    expect(last().table).toBe('status');
    expect(screen.queryByLabelText('Group by')).not.toBeInTheDocument();
    expect(screen.queryByPlaceholderText('any, or $namespace')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Live')).toBeInTheDocument();
  });

  it('keeps a variable as the aggregation level', async () => {
    const { user, last } = setup();
    await user.type(screen.getByLabelText('Group by'), '$level{enter}');
    expect(last().aggregate).toBe('$level');
  });
});
