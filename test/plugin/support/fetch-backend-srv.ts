// Grafana's backend service as the plugin uses it (fetch → Observable, errors as FetchError), over
// the real fetch, for tests without a Grafana server.
import { Observable } from 'rxjs';
import { setBackendSrv, type BackendSrv, type BackendSrvRequest, type FetchResponse } from '@grafana/runtime';

function fetchOverHttp<T>(options: BackendSrvRequest): Observable<FetchResponse<T>> {
  return new Observable((subscriber) => {
    const controller = new AbortController();
    const body = options.data === undefined ? undefined : JSON.stringify(options.data);
    fetch(options.url, {
      method: options.method ?? 'GET',
      headers: body ? { 'content-type': 'application/json' } : {},
      body,
      signal: controller.signal,
    })
      .then(async (res) => {
        const text = await res.text();
        let data: unknown = text;
        try {
          data = JSON.parse(text);
        } catch {}
        const response = { data: data as T, status: res.status, statusText: res.statusText, ok: res.ok, headers: res.headers, redirected: res.redirected, type: res.type, url: res.url, config: options };
        if (res.ok) {
          subscriber.next(response);
          subscriber.complete();
        } else {
          subscriber.error({ status: res.status, statusText: res.statusText, data, config: options });
        }
      })
      .catch((e: Error) => subscriber.error({ status: -1, statusText: e.message, data: { message: e.message }, config: options }));
    return () => controller.abort();
  });
}

export function installFetchBackendSrv(): void {
  setBackendSrv({ fetch: fetchOverHttp } as unknown as BackendSrv);
}
