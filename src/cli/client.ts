// The collector's protocol from Node: connect with the bearer token, exchange hellos, then
// subscribe or query. Used by the `weft` command and by the tests.
import WebSocket from 'ws';
import { messageText } from './message-text.js';
import { malformed, parseServerMessage, PROTOCOL_VERSION, WS_PATH, type ClientMessage, type ErrorMessage, type HelloMessage, type ResultMessage, type ServerMessage, type SubscriptionSpec } from '../protocol/index.js';

export interface ConnectOptions {
  /** ws://HOST:PORT or wss://HOST:PORT, with or without the /ws path. */
  server: string;
  token: string;
  client?: string;
  /** Extra trust for wss with a private CA. */
  ca?: string | Buffer;
  timeoutMs?: number;
  /** Gives up the connecting (Ctrl-C before the hello). */
  signal?: AbortSignal;
}

export class ProtocolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function socketUrl(server: string): string {
  const text = server.includes('://') ? server : `ws://${server}`;
  const u = URL.canParse(text) ? new URL(text) : undefined;
  if (u?.protocol === 'http:') u.protocol = 'ws:';
  if (u?.protocol === 'https:') u.protocol = 'wss:';
  if (!u || (u.protocol !== 'ws:' && u.protocol !== 'wss:') || !u.hostname) throw new Error(`"${server}" is not a collector address: give HOST:PORT, ws://HOST:PORT or wss://HOST:PORT`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = WS_PATH;
  return u.toString();
}

/** Why a socket closed, as weft says it. */
export function closedText(code: number, reason: string): string {
  return code === 1006 ? 'the connection to the collector was lost (1006)' : `the collector closed the connection (${code}${reason ? `: ${reason}` : ''})`;
}

export class WeftClient {
  private readonly listeners = new Set<(m: ServerMessage) => void>();
  private readonly pinger: NodeJS.Timeout;
  private lastHeard = Date.now();
  closeInfo: { code: number; reason: string } | undefined;

  private constructor(
    readonly ws: WebSocket,
    readonly hello: HelloMessage,
  ) {
    ws.on('message', (data) => {
      this.lastHeard = Date.now();
      const m = parseServerMessage(messageText(data));
      const bad = m ? malformed(m) : 'not a protocol message';
      if (!m || bad) {
        // Tell every waiter (a throw here would crash the process), then give up on the socket.
        this.tell('malformed', m ? `the collector sent a malformed ${m.type} message: ${bad}` : 'the collector sent something that is not a protocol message');
        return void ws.close(1002, m ? `malformed ${m.type}` : 'not a protocol message');
      }
      if (m.type === 'ping') this.send({ type: 'pong', t: m.t });
      for (const l of this.listeners) l(m);
    });
    ws.on('error', () => ws.terminate());
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      clearInterval(this.pinger);
    });
    // A silent collector is treated as the collector treats a silent client; a floor for a busy machine.
    const silenceMs = Math.max(3 * hello.heartbeatMs, 3000);
    this.pinger = setInterval(() => {
      if (Date.now() - this.lastHeard <= silenceMs) return this.send({ type: 'ping', t: Date.now() });
      this.tell('heartbeat-timeout', `nothing heard from the collector for ${silenceMs} ms`);
      ws.terminate();
    }, Math.max(1000, hello.heartbeatMs / 2));
    this.pinger.unref();
  }

  /** An error of the client's own, to every listener as if the collector had sent it. */
  private tell(code: ErrorMessage['code'], message: string): void {
    for (const l of this.listeners) l({ type: 'error', code, message });
  }

  static connect(opts: ConnectOptions): Promise<WeftClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(socketUrl(opts.server), { headers: { authorization: `Bearer ${opts.token}` }, ...(opts.ca ? { ca: opts.ca } : {}) });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no hello from ${opts.server} within ${opts.timeoutMs ?? 10_000} ms`));
      }, opts.timeoutMs ?? 10_000);
      let error: ErrorMessage | undefined;
      // The socket goes too: left open, it keeps the process alive after the error.
      const refuse = (why: string): void => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(why));
      };
      ws.once('message', (data) => {
        const m = parseServerMessage(messageText(data));
        if (!m) return refuse(`${opts.server} did not answer with a Weft hello`);
        if (m.type === 'error') {
          error = m;
          return;
        }
        if (m.type !== 'hello') return refuse(`${opts.server} sent ${m.type} before its hello`);
        if (m.protocol !== PROTOCOL_VERSION) return refuse(`${opts.server} speaks Weft protocol ${String(m.protocol)}, this weft speaks ${PROTOCOL_VERSION}: upgrade the older of the two`);
        const bad = malformed(m);
        if (bad) return refuse(`${opts.server} sent a malformed hello: ${bad}`);
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', abort);
        ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, client: opts.client ?? 'weft-cli' } satisfies ClientMessage));
        resolve(new WeftClient(ws, m));
      });
      ws.once('close', (code, reason) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', abort);
        reject(error ? new ProtocolError(error.code, `${error.message} (close ${code})`) : new Error(`connection closed (${code}) ${reason.toString()}`));
      });
      ws.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${opts.server}: ${e.message}`));
      });
      const abort = (): void => refuse('interrupted before the collector said hello');
      if (opts.signal?.aborted) abort();
      else opts.signal?.addEventListener('abort', abort, { once: true });
    });
  }

  send(msg: ClientMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(msg));
  }

  onMessage(l: (m: ServerMessage) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The next message matching `pick`, or the first error about `ref`, or the socket closing. */
  next<T extends ServerMessage>(pick: (m: ServerMessage) => m is T, ref?: string, timeoutMs = 10_000): Promise<T> {
    if (this.closeInfo) return Promise.reject(new Error(closedText(this.closeInfo.code, this.closeInfo.reason)));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        this.ws.off('close', closed);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error('timed out waiting for the collector'));
      }, timeoutMs);
      const closed = (code: number, reason: Buffer): void => {
        done();
        reject(new Error(closedText(code, reason.toString())));
      };
      this.ws.once('close', closed);
      const off = this.onMessage((m) => {
        if (pick(m)) {
          done();
          resolve(m);
        } else if (m.type === 'error' && (ref === undefined || m.ref === ref || m.ref === undefined)) {
          done();
          reject(new ProtocolError(m.code, m.message));
        }
      });
    });
  }

  subscribe(sub: string, spec: SubscriptionSpec): void {
    this.send({ type: 'subscribe', sub, ...spec });
  }

  query(id: string, spec: SubscriptionSpec, from: number, to: number): Promise<ResultMessage> {
    const p = this.next((m): m is ResultMessage => m.type === 'result' && m.id === id, id);
    this.send({ type: 'query', id, from, to, ...spec });
    return p;
  }

  close(): Promise<void> {
    clearInterval(this.pinger);
    if (this.ws.readyState === this.ws.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close(1000, 'done');
    });
  }
}
