// The Weft data source: live and historical link/flow queries over the collector's WebSocket,
// variable values, and Save & test.
import {
  DataSourceApi,
  LoadingState,
  type DataFrame,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { catchError, distinctUntilChanged, from, map, merge, type Observable, of, startWith, switchMap, timer } from 'rxjs';
import { VALUE_FIELDS, type AggregationLevel, type FlowRecord, type LinkRecord, type StatusResponse, type TableName } from '../protocol/index.js';
import { flowsToTable, frameSignature, linksToGraph, statusToFrame } from './frames/index.js';
import { toSpec } from './query-spec.js';
import { statusMessage } from './status-message.js';
import {
  CollectorConnection,
  directWebSocketUrl,
  fetchStatus,
  fetchTicket,
  probeSocket,
  proxyWebSocketUrl,
  type AnyRecord,
} from './transport/index.js';
import { DEFAULT_QUERY, type WeftOptions, type WeftQuery, type WeftVariableQuery } from './types.js';

/** How often a live status query asks the collector again. */
const STATUS_POLL_MS = 5000;

function errorResponse(e: unknown, key: string, refId: string): DataQueryResponse {
  return { data: [], key, state: LoadingState.Error, error: { message: e instanceof Error ? e.message : String(e), refId } };
}

export class WeftDataSource extends DataSourceApi<WeftQuery, WeftOptions> {
  readonly url: string;
  readonly options: WeftOptions;
  /** One socket per data source instance, shared by every panel and variable using it. */
  readonly connection: CollectorConnection;

  constructor(instanceSettings: DataSourceInstanceSettings<WeftOptions>) {
    super(instanceSettings);
    this.url = instanceSettings.url ?? '';
    this.options = instanceSettings.jsonData ?? {};
    this.connection = new CollectorConnection({ url: () => this.socketUrl(), clientName: 'weft-topology-datasource' });
  }

  override getDefaultQuery(): Partial<WeftQuery> {
    return DEFAULT_QUERY;
  }

  override filterQuery(q: WeftQuery): boolean {
    return !q.hide;
  }

  /** Where the next socket goes: Grafana's proxy, or the collector itself with a fresh ticket. */
  async socketUrl(): Promise<string> {
    if (this.options.access !== 'direct') {
      return proxyWebSocketUrl(this.url, window.origin);
    }
    const { ticket } = await fetchTicket(this.url, window.origin);
    return directWebSocketUrl(this.options.directUrl ?? '', ticket, window.origin);
  }

  query(request: DataQueryRequest<WeftQuery>): Observable<DataQueryResponse> {
    const targets = request.targets.filter((t) => this.filterQuery(t));
    if (targets.length === 0) {
      return of({ data: [], state: LoadingState.Done });
    }
    return merge(...targets.map((t) => this.queryOne({ ...DEFAULT_QUERY, ...t }, request)));
  }

  private queryOne(q: WeftQuery, request: DataQueryRequest<WeftQuery>): Observable<DataQueryResponse> {
    const key = `${this.uid}/${q.refId}`;
    const failed = (e: unknown) => of(errorResponse(e, key, q.refId));
    if (q.table === 'status') {
      return this.status(q, key).pipe(catchError(failed));
    }
    let spec;
    try {
      spec = toSpec({ ...q, table: q.table }, this.interpolator(request.scopedVars));
    } catch (e) {
      return failed(e);
    }
    const level = spec.aggregate ?? 'endpoint';
    if (!q.live) {
      const { from: start, to: end } = request.range;
      return from(this.connection.request({ type: 'query', ...spec, from: start.valueOf(), to: end.valueOf() })).pipe(
        map((r) => {
          const { data, problem } = this.drawn(q, level, r.table, r.records);
          return problem ? errorResponse(problem, key, q.refId) : { data, key, state: LoadingState.Done };
        }),
        catchError(failed),
      );
    }
    return this.connection.subscribe(spec).pipe(
      map((s) => {
        const drawn = this.drawn(q, level, s.table, s.records);
        const problem = s.problem ?? drawn.problem;
        return { data: drawn.data, problem, signature: frameSignature(drawn.data) + (problem ?? '') };
      }),
      // The Node Graph panel lays the whole graph out again on every frame: send only changes.
      distinctUntilChanged((a, b) => a.signature === b.signature),
      map(({ data, problem }): DataQueryResponse =>
        // While the socket is down the panel keeps the last graph and says why.
        problem ? { data, key, state: LoadingState.Error, error: { message: problem, refId: q.refId } } : { data, key, state: LoadingState.Streaming },
      ),
      startWith<DataQueryResponse>({ data: [], key, state: LoadingState.Loading }),
      catchError(failed),
    );
  }

  /** The collector's status: once, or every few seconds while live (emitting only when it changed). */
  private status(q: WeftQuery, key: string): Observable<DataQueryResponse> {
    const answer = (s: StatusResponse, state: LoadingState): DataQueryResponse => ({ data: [statusToFrame(s, q.refId, Date.now())], key, state });
    if (!q.live) {
      return from(fetchStatus(this.url)).pipe(map((s) => answer(s, LoadingState.Done)));
    }
    // A failed poll is answered and polling goes on, so the panel recovers when the collector does.
    return timer(0, STATUS_POLL_MS).pipe(
      switchMap(() =>
        from(fetchStatus(this.url)).pipe(
          map((status) => ({ status, error: undefined as unknown })),
          catchError((error: unknown) => of({ status: undefined, error })),
        ),
      ),
      distinctUntilChanged((a, b) => JSON.stringify(a.status ?? String(a.error)) === JSON.stringify(b.status ?? String(b.error))),
      map((r) => (r.status ? answer(r.status, LoadingState.Streaming) : errorResponse(r.error, key, q.refId))),
    );
  }

  /**
   * The frames, or why the records cannot be drawn (one lacks a field a frame needs). Said as an
   * answer rather than thrown, so a live query lives on and draws the next whole records.
   */
  private drawn(q: WeftQuery, level: AggregationLevel, table: TableName, records: AnyRecord[]): { data: DataFrame[]; problem?: string } {
    try {
      return { data: this.frames(q, level, table, records) };
    } catch (e) {
      return { data: [], problem: `The collector sent ${table} records this plugin cannot draw (${e instanceof Error ? e.message : String(e)}).` };
    }
  }

  frames(q: WeftQuery, level: AggregationLevel, table: TableName, records: AnyRecord[]) {
    if (table === 'flows') {
      return [flowsToTable(records as FlowRecord[], { refId: q.refId, top: q.top })];
    }
    const { nodes, edges } = linksToGraph(records as LinkRecord[], {
      refId: q.refId,
      level,
      mainstat: q.mainstat,
      explore: { uid: this.uid, name: this.name },
    });
    return [nodes, edges];
  }

  private interpolator(scopedVars: ScopedVars) {
    const templates = getTemplateSrv();
    return (value: string) => templates.replace(value, scopedVars);
  }

  /** Values for dashboard variables: `namespace`, `workload`, `node`, `netns`, `process` or `pod`. */
  override async metricFindQuery(query: WeftVariableQuery | string): Promise<MetricFindValue[]> {
    const field = (typeof query === 'string' ? query : query?.field ?? '').trim() as WeftVariableQuery['field'];
    if (!VALUE_FIELDS.includes(field)) {
      throw new Error(`Variable query "${field}" is not one of: ${VALUE_FIELDS.join(', ')}.`);
    }
    const answer = await this.connection.request({ type: 'values', field });
    return answer.values.map((text) => ({ text, value: text }));
  }

  async testDatasource(): Promise<TestDataSourceResponse> {
    try {
      const status = await fetchStatus(this.url);
      const url = await this.socketUrl();
      await probeSocket(url);
      const path = this.options.access === 'direct' ? `directly at ${this.options.directUrl}` : "through Grafana's data source proxy";
      return { status: 'success', message: `${statusMessage(status)} Live updates work ${path}.` };
    } catch (e) {
      return { status: 'error', message: e instanceof Error ? e.message : String(e) };
    }
  }

  dispose(): void {
    this.connection.close();
  }
}
