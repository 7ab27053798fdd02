export { CollectorConnection, type ConnectionOptions, type TableState, type AnyRecord } from './connection.js';
export { CollectorError } from './errors.js';
export { fetchStatus, fetchTicket } from './http.js';
export { probeSocket } from './probe.js';
export { directWebSocketUrl, proxyWebSocketUrl } from './urls.js';
