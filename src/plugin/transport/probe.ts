// Opens a WebSocket once and waits for the collector's hello: Save & test's proof that live updates
// will get through (Grafana's proxy passes the upgrade, or the direct URL and ticket work).
import { parseServerMessage, PROTOCOL_VERSION, type HelloMessage } from '../../protocol/index.js';
import { closeError, CollectorError, serverError, UNREACHABLE, wrongProtocol } from './errors.js';

export function probeSocket(url: string, WebSocketImpl: typeof WebSocket = WebSocket, timeoutMs = 5000): Promise<HelloMessage> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketImpl(url);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState <= 1) {
        ws.close(1000, 'probe done');
      }
      fn();
    };
    const timer = setTimeout(() => done(() => reject(new CollectorError(`The collector accepted no WebSocket within ${timeoutMs / 1000} s.`, false))), timeoutMs);
    ws.onmessage = (ev) =>
      done(() => {
        const m = parseServerMessage(ev.data);
        if (!m) {
          return reject(new CollectorError('The collector sent something that is not JSON.', false));
        }
        if (m.type === 'error') {
          return reject(serverError(m));
        }
        if (m.type !== 'hello') {
          return reject(new CollectorError(`The collector's first message was "${m.type}", not hello.`, false));
        }
        if (m.protocol !== PROTOCOL_VERSION) {
          return reject(new CollectorError(wrongProtocol(m.protocol), true));
        }
        resolve(m);
      });
    ws.onclose = (ev) => done(() => reject(closeError(ev.code, ev.reason) ?? new CollectorError(UNREACHABLE, false)));
  });
}
