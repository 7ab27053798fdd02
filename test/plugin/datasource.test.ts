// The data source against the real collector server, through the data source proxy stand-in:
// live queries stream frames only on change, history queries answer for a time range, variables
// are interpolated and listed, and the socket closes when nothing uses it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, filter, type Subscription } from 'rxjs';
import { dateTime, LoadingState, type DataFrame, type DataQueryRequest, type DataQueryResponse, type DataSourceInstanceSettings, type ScopedVars } from '@grafana/data';
import { setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { WeftDataSource } from '../../src/plugin/datasource.js';
import { DEFAULT_QUERY, type WeftOptions, type WeftQuery } from '../../src/plugin/types.js';
import { startGrafanaProxy, type GrafanaProxy } from '../e2e/support/grafana-proxy.js';
import { installFetchBackendSrv } from './support/fetch-backend-srv.js';
import { linkRecord, startTestCollector, type TestCollector } from './support/collector.js';

const TOKEN = 'datasource-test-token-42';
let collector: TestCollector;
let proxy: GrafanaProxy;
let ds: WeftDataSource;
const variables: Record<string, string> = { ns: 'shop', level: 'process' };

beforeAll(async () => {
  installFetchBackendSrv();
  // Dashboard variables as Grafana's template service replaces them: $name and ${name}.
  setTemplateSrv({
    replace: (text = '', scoped?: ScopedVars) =>
      text.replace(/\$\{(\w+)\}|\$(\w+)/g, (all, a?: string, b?: string) => {
        const name = (a ?? b)!;
        return String(scoped?.[name]?.value ?? variables[name] ?? all);
      }),
    getVariables: () => [],
    containsTemplate: (t?: string) => /\$/.test(t ?? ''),
    updateTimeRange: () => {},
  } as unknown as TemplateSrv);
  collector = await startTestCollector(TOKEN, 'http://localhost:3000', [linkRecord('l1', '10.61.0.1', '10.61.0.2', 100, 200)]);
  proxy = await startGrafanaProxy('src/plugin/plugin.json');
  proxy.save({ uid: 'weft', url: collector.httpUrl, secureJsonData: { token: TOKEN } });
  ds = new WeftDataSource({ uid: 'weft', name: 'Weft', url: proxy.instanceUrl('weft'), jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings<WeftOptions>);
});

afterAll(async () => {
  ds?.dispose();
  await collector?.close();
  await proxy?.close();
});

function request(q: Partial<WeftQuery>, range = { from: Date.now() - 60_000, to: Date.now() }): DataQueryRequest<WeftQuery> {
  return {
    requestId: 'r1',
    interval: '1s',
    intervalMs: 1000,
    range: { from: dateTime(range.from), to: dateTime(range.to), raw: { from: 'now-1m', to: 'now' } },
    scopedVars: {},
    targets: [{ refId: 'A', ...DEFAULT_QUERY, aggregate: 'endpoint', ...q }],
    timezone: 'utc',
    app: 'dashboard',
    startTime: Date.now(),
  };
}

const values = (f: DataFrame, name: string) => f.fields.find((x) => x.name === name)!.values;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects a query's responses; `next()` waits for one more. */
function collect(obs: ReturnType<WeftDataSource['query']>) {
  const got: DataQueryResponse[] = [];
  let wake: (() => void) | undefined;
  const sub: Subscription = obs.subscribe((r) => {
    got.push(r);
    wake?.();
  });
  const next = async (count: number, timeoutMs = 5000) => {
    const until = Date.now() + timeoutMs;
    while (got.length < count) {
      if (Date.now() > until) throw new Error(`only ${got.length} responses, wanted ${count}`);
      await new Promise<void>((ok) => {
        wake = ok;
        setTimeout(ok, 50);
      });
    }
    return got[count - 1]!;
  };
  return { got, next, sub };
}

describe('WeftDataSource', () => {
  it('streams live frames with one key, only when the graph or its figures change', async () => {
    const { got, next, sub } = collect(ds.query(request({ live: true })));
    expect((await next(1)).state).toBe(LoadingState.Loading);
    const first = await next(2);
    expect(first.state).toBe(LoadingState.Streaming);
    expect(first.key).toBe('weft/A');
    const [nodes, edges] = first.data as DataFrame[];
    expect(values(nodes!, 'id')).toEqual(['ip:ns-a/10.61.0.1', 'ip:ns-b/10.61.0.2']);
    expect(values(edges!, 'detail__bytes_sent')).toEqual([100]);
    expect(values(edges!, 'detail__bytes_received')).toEqual([200]);
    expect(ds.connection.isOpen).toBe(true);

    // Idle: the collector sends nothing, and the data source emits nothing.
    await sleep(600);
    expect(got.length).toBe(2);

    // A new link: a topology change comes at once.
    collector.links.upsert([linkRecord('l2', '10.61.0.1', '10.61.0.3', 7, 9)]);
    const second = await next(3);
    expect(second.key).toBe('weft/A');
    expect(values(second.data[0] as DataFrame, 'id')).toEqual(['ip:ns-a/10.61.0.1', 'ip:ns-b/10.61.0.2', 'ip:ns-b/10.61.0.3']);

    // Only figures move: a new frame with the new bytes, same ids in the same order.
    collector.links.upsert([linkRecord('l1', '10.61.0.1', '10.61.0.2', 150, 260)]);
    const third = await next(4);
    expect(values(third.data[0] as DataFrame, 'id')).toEqual(values(second.data[0] as DataFrame, 'id'));
    expect(values(third.data[1] as DataFrame, 'detail__bytes_sent')).toEqual([150, 7]);

    // Something the frames do not show (lastSeen) changes: no new frame.
    collector.links.upsert([{ ...linkRecord('l1', '10.61.0.1', '10.61.0.2', 150, 260), lastSeen: Date.now() + 5000 }]);
    await sleep(600);
    expect(got.length).toBe(4);
    expect(got.every((r) => r.key === 'weft/A')).toBe(true);

    sub.unsubscribe();
    expect(ds.connection.isOpen).toBe(false);
    collector.links.remove(['l2']);
    collector.links.upsert([linkRecord('l1', '10.61.0.1', '10.61.0.2', 100, 200)]);
  });

  it('interpolates template variables into filters', async () => {
    collector.links.upsert([{ ...linkRecord('l9', '10.61.0.5', '10.61.0.6', 1, 1), server: { ip: '10.61.0.6', port: 80, namespace: 'other' } }]);
    const { next, sub } = collect(ds.query(request({ live: true, filter: { namespace: '$ns' } })));
    const r = await next(2);
    sub.unsubscribe();
    expect(values(r.data[1] as DataFrame, 'id')).toEqual(['ip:ns-a/10.61.0.1>ip:ns-b/10.61.0.2']);
    collector.links.remove(['l9']);
  });

  it('says when a filter is not valid', async () => {
    const r = await firstValueFrom(ds.query(request({ live: true, filter: { port: 'http' } })));
    expect(r.state).toBe(LoadingState.Error);
    expect(r.error?.message).toBe('Port filter "http" is not a port number (0-65535).');
  });

  it('takes a filter saved as a number in dashboard JSON ("port": 8080), as the protocol writes it', async () => {
    const saved = { port: 8080 } as unknown as WeftQuery['filter'];
    const r = await firstValueFrom(ds.query(request({ live: true, filter: saved })).pipe(filter((x) => x.state !== LoadingState.Loading)));
    expect(r.error).toBeUndefined();
    expect(values(r.data[1] as DataFrame, 'detail__port')).toEqual(['8080']);
  });

  it('answers a query with live off from the history window: what moved in the range', async () => {
    const now = Date.now();
    collector.history.links.sample(collector.links.records(), now - 5000);
    collector.links.upsert([linkRecord('l1', '10.61.0.1', '10.61.0.2', 130, 290)]);
    collector.history.links.sample(collector.links.records(), now - 1000);
    const r = await firstValueFrom(ds.query(request({ live: false }, { from: now - 4000, to: now - 2000 })).pipe(filter((x) => x.state !== LoadingState.Loading)));
    expect(r.state).toBe(LoadingState.Done);
    const edges = r.data[1] as DataFrame;
    expect(values(edges, 'detail__bytes_sent')).toEqual([30]);
    expect(values(edges, 'detail__bytes_received')).toEqual([90]);
  });

  it('lists values for dashboard variables', async () => {
    expect(await ds.metricFindQuery('namespace')).toEqual([{ text: 'shop', value: 'shop' }]);
    expect(await ds.metricFindQuery({ field: 'process' })).toEqual([
      { text: 'client', value: 'client' },
      { text: 'server', value: 'server' },
    ]);
    await expect(ds.metricFindQuery('colour')).rejects.toThrow('Variable query "colour" is not one of: namespace, workload, node, netns, process, pod.');
  });

  it('takes the aggregation level from a variable', async () => {
    const r = await firstValueFrom(ds.query(request({ live: true, aggregate: '$level' })).pipe(filter((x) => x.state === LoadingState.Streaming)));
    expect(values(r.data[0] as DataFrame, 'id')).toEqual(['process:ns-a/client', 'process:ns-b/server']);
    const bad = await firstValueFrom(ds.query(request({ live: true, aggregate: 'planet' })));
    expect(bad.error?.message).toBe('Group by "planet" is not one of: endpoint, process, netns, pod, workload, namespace, node.');
  });

  it('answers a status query with the collector status as one row', async () => {
    const r = await firstValueFrom(ds.query(request({ table: 'status', live: false })));
    expect(r.state).toBe(LoadingState.Done);
    const f = r.data[0] as DataFrame;
    expect(values(f, 'links')).toEqual([collector.links.size()]);
    expect(values(f, 'flows')).toEqual([0]);
    expect(values(f, 'version')).toEqual(['0.1.0']);
    expect(values(f, 'kernel')).toEqual(['6.18.0-test']);
    expect(values(f, 'tracepoints')).toEqual([2]);
  });

  it('stops at a direct URL that is not one, instead of fetching tickets and reconnecting for ever', async () => {
    const direct = new WeftDataSource({ uid: 'weft', name: 'Weft', url: proxy.instanceUrl('weft'), jsonData: { access: 'direct', directUrl: 'not a url' }, meta: {} } as unknown as DataSourceInstanceSettings<WeftOptions>);
    const { got, next, sub } = collect(direct.query(request({ live: true })));
    const r = await next(2);
    await sleep(1500);
    sub.unsubscribe();
    direct.dispose();
    expect(r.state).toBe(LoadingState.Error);
    expect(r.error?.message).toBe('The direct collector URL "not a url" is not a valid URL: use e.g. wss://collector.example:7070.');
    expect(got.length).toBe(2);
    expect(direct.connection.isOpen).toBe(false);
  });

  it('a live status query says the collector is away, and shows its status again once it is back', async () => {
    const gone = await startTestCollector(TOKEN);
    await gone.close();
    proxy.save({ uid: 'weft-status', url: gone.httpUrl, secureJsonData: { token: TOKEN } });
    const status = new WeftDataSource({ uid: 'weft-status', name: 'Weft', url: proxy.instanceUrl('weft-status'), jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings<WeftOptions>);
    const { next, sub } = collect(status.query(request({ table: 'status', live: true })));
    const down = await next(1);
    expect(down.state).toBe(LoadingState.Error);
    expect(down.error?.message).toMatch(/^The collector is unreachable/);
    const back = await startTestCollector(TOKEN);
    proxy.save({ uid: 'weft-status', url: back.httpUrl, secureJsonData: { token: TOKEN } });
    // The next poll, 5 s after the first.
    const up = await next(2, 8000);
    sub.unsubscribe();
    status.dispose();
    await back.close();
    expect(up.state).toBe(LoadingState.Streaming);
    expect(values(up.data[0] as DataFrame, 'version')).toEqual(['0.1.0']);
  }, 15_000);

  it('keeps the last graph and says so while the collector is away', async () => {
    const other = await startTestCollector(TOKEN, 'http://localhost:3000', [linkRecord('z1', '10.61.0.7', '10.61.0.8', 5, 6)]);
    proxy.save({ uid: 'weft-away', url: other.httpUrl, secureJsonData: { token: TOKEN } });
    const away = new WeftDataSource({ uid: 'weft-away', name: 'Weft', url: proxy.instanceUrl('weft-away'), jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings<WeftOptions>);
    const { next, sub } = collect(away.query(request({ live: true })));
    const live = await next(2);
    expect(live.state).toBe(LoadingState.Streaming);
    await other.close();
    const down = await next(3);
    sub.unsubscribe();
    away.dispose();
    expect(down.state).toBe(LoadingState.Error);
    expect(down.error?.message).toMatch(/Reconnecting…$/);
    expect(down.data).toEqual(live.data);
  });
});
