// The collector's two HTTP calls, made through Grafana's backend service so that they go through the
// data source proxy (which adds the bearer token): GET /api/status and POST /api/ticket.
import { lastValueFrom } from 'rxjs';
import { getBackendSrv, isFetchError } from '@grafana/runtime';
import { PROTOCOL_VERSION, type StatusResponse, type TicketRequest, type TicketResponse } from '../../protocol/index.js';
import { BAD_TOKEN, CollectorError, UNREACHABLE, wrongProtocol } from './errors.js';
import { httpPath } from './urls.js';

function explain(e: unknown, what: string): CollectorError {
  if (!isFetchError(e)) {
    return new CollectorError(UNREACHABLE, false);
  }
  if (e.status === 401) {
    return new CollectorError(BAD_TOKEN, true);
  }
  // Grafana's proxy answers 502/504 when it cannot reach the collector; a browser gives no status.
  if (e.status <= 0 || e.status === 502 || e.status === 503 || e.status === 504) {
    return new CollectorError(UNREACHABLE, false);
  }
  if (e.status === 404) {
    return new CollectorError(`No Weft collector answers at this URL (${what} gave 404): check the collector URL.`, true);
  }
  // The collector answers errors as {"error": {"code", "message"}}.
  const detail: string = e.data?.error?.message ?? e.data?.message ?? e.statusText ?? '';
  if (e.status === 403 && e.data?.error?.code === 'forbidden-origin') {
    return new CollectorError(`The collector refused this page's origin (${detail}): add Grafana's address to the collector's --allowed-origins.`, true);
  }
  return new CollectorError(`The collector answered ${what} with HTTP ${e.status}${detail ? `: ${detail}` : ''}.`, false);
}

async function call<T>(method: 'GET' | 'POST', url: string, what: string, data?: unknown): Promise<T> {
  try {
    const res = await lastValueFrom(getBackendSrv().fetch<T>({ method, url, data, showErrorAlert: false, showSuccessAlert: false }));
    return res.data;
  } catch (e) {
    throw explain(e, what);
  }
}

function isStatus(s: unknown): s is StatusResponse {
  return typeof s === 'object' && s !== null && 'protocol' in s && 'version' in s;
}

export async function fetchStatus(instanceUrl: string): Promise<StatusResponse> {
  const s = await call<unknown>('GET', httpPath(instanceUrl, '/api/status'), 'GET /api/status');
  if (!isStatus(s)) {
    throw new CollectorError('Something answers at this URL, but it is not a Weft collector (GET /api/status gave no status).', true);
  }
  if (s.protocol !== PROTOCOL_VERSION) {
    throw new CollectorError(wrongProtocol(s.protocol), true);
  }
  return s;
}

export async function fetchTicket(instanceUrl: string, origin: string): Promise<TicketResponse> {
  const body: TicketRequest = { origin };
  const t = await call<TicketResponse>('POST', httpPath(instanceUrl, '/api/ticket'), 'POST /api/ticket', body);
  if (typeof t?.ticket !== 'string') {
    throw new CollectorError('The collector gave no ticket (POST /api/ticket).', false);
  }
  return t;
}
