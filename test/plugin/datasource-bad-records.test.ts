// A live query whose records cannot be drawn (a link without its client endpoint, which the wire
// shape check does not look into) says so and lives on: the next whole records are drawn. The
// collector here is a scripted WebSocket peer, since the real one never sends such a record.
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { dateTime, LoadingState, type DataQueryRequest, type DataQueryResponse, type DataSourceInstanceSettings } from '@grafana/data';
import { setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { WeftDataSource } from '../../src/plugin/datasource.js';
import { DEFAULT_QUERY, type WeftOptions, type WeftQuery } from '../../src/plugin/types.js';
import { linkRecord } from './support/collector.js';

const hello = { type: 'hello', protocol: PROTOCOL_VERSION, server: { name: 'weft-collector', version: '0.1.0', node: 'n' }, features: {}, tables: { links: 0, flows: 0 }, heartbeatMs: 15000 };

setTemplateSrv({ replace: (t = '') => t, getVariables: () => [], containsTemplate: () => false, updateTimeRange: () => {} } as unknown as TemplateSrv);

let wss: WebSocketServer | undefined;
afterEach(() => new Promise<void>((ok) => (wss ? wss.close(() => ok()) : ok())));

function request(q: Partial<WeftQuery>): DataQueryRequest<WeftQuery> {
  const now = Date.now();
  return {
    requestId: 'r1',
    interval: '1s',
    intervalMs: 1000,
    range: { from: dateTime(now - 60_000), to: dateTime(now), raw: { from: 'now-1m', to: 'now' } },
    scopedVars: {},
    targets: [{ refId: 'A', ...DEFAULT_QUERY, aggregate: 'endpoint', ...q }],
    timezone: 'utc',
    app: 'dashboard',
    startTime: now,
  };
}

describe('WeftDataSource with records it cannot draw', () => {
  it('answers with an error naming the table, then draws the next whole records', async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (ws) => {
      ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.type === 'subscribe') {
          ws.send(JSON.stringify({ type: 'snapshot', sub: m.sub, seq: 1, table: 'links', records: [{ id: 'x', server: { ip: '10.61.0.2' } }], time: 1 }));
          const good = linkRecord('l1', '10.61.0.1', '10.61.0.2', 1, 2);
          setTimeout(() => ws.send(JSON.stringify({ type: 'delta', sub: m.sub, seq: 2, table: 'links', upsert: [good], remove: ['x'], time: 2 })), 100);
        }
      });
      ws.send(JSON.stringify(hello));
    });
    await new Promise((ok) => wss!.once('listening', ok));
    const url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const ds = new WeftDataSource({ uid: 'w', name: 'Weft', url, jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings<WeftOptions>);
    const got: DataQueryResponse[] = [];
    const sub = ds.query(request({ live: true })).subscribe((r) => got.push(r));
    const until = Date.now() + 4000;
    while (got.length < 3 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    sub.unsubscribe();
    ds.dispose();
    expect(got.map((r) => [r.state, r.error?.message])).toEqual([
      [LoadingState.Loading, undefined],
      [LoadingState.Error, "The collector sent links records this plugin cannot draw (Cannot read properties of undefined (reading 'id'))."],
      [LoadingState.Streaming, undefined],
    ]);
    expect(got[2]!.data.map((f) => f.length)).toEqual([2, 1]);
  });
});
