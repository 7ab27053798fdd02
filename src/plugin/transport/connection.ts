// The one WebSocket between a data source instance and its collector, shared by all of its queries.
// Opens on first use, speaks hello first, (re)subscribes, keeps each subscription's records up to
// date from snapshot + deltas (asking for a resync on a sequence gap), answers one-off requests,
// pings, reconnects with backoff after a drop, and closes once nothing uses it.
import { Observable } from 'rxjs';
import {
  malformed,
  parseServerMessage,
  PROTOCOL_VERSION,
  type ClientMessage,
  type FlowRecord,
  type HelloMessage,
  type LinkRecord,
  type QueryMessage,
  type ResultMessage,
  type SubscriptionSpec,
  type TableName,
  type ValuesMessage,
  type ValuesQueryMessage,
} from '../../protocol/index.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { closeError, CollectorError, serverError, UNREACHABLE, wrongProtocol } from './errors.js';

export type AnyRecord = LinkRecord | FlowRecord;

/** A subscription's current records, after its snapshot and every delta since. */
export interface TableState {
  table: TableName;
  records: AnyRecord[];
  seq: number;
  time: number;
  /** Set while the socket is down and being reopened: the records are the last ones known. */
  problem?: string;
}

export interface ConnectionOptions {
  /** The URL for each (re)connect; direct mode fetches a fresh one-time ticket here. */
  url: () => Promise<string>;
  clientName: string;
  WebSocketImpl?: typeof WebSocket;
  backoff?: BackoffOptions;
  /** How long a query or values request may take. */
  requestTimeoutMs?: number;
  /** How long a new socket may take to open and say hello. */
  helloTimeoutMs?: number;
}

interface Subscription {
  spec: SubscriptionSpec;
  records: Map<string, AnyRecord>;
  seq: number;
  /** Waiting for a snapshot: deltas are ignored until it comes. */
  synced: boolean;
  next: (s: TableState) => void;
  fail: (e: Error) => void;
}

type Request = QueryMessage | ValuesQueryMessage;
type Answer<R extends Request> = R extends QueryMessage ? ResultMessage : ValuesMessage;

interface Pending {
  message: Request;
  resolve: (m: ResultMessage | ValuesMessage) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}${(counter += 1)}`;

export class CollectorConnection {
  private socket?: WebSocket;
  private ready = false;
  private readonly subs = new Map<string, Subscription>();
  private readonly pending = new Map<string, Pending>();
  private attempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private helloTimer?: ReturnType<typeof setTimeout>;
  /** Why the socket is down, while waiting to reopen it: told at once to subscribers that join. */
  private waitingBecause?: string;
  private lastHeard = 0;
  /** Between deciding to connect and having a socket (fetching a ticket). */
  private opening = false;
  /** Bumped on every open/close, so callbacks of an abandoned socket do nothing. */
  private generation = 0;

  constructor(private readonly opts: ConnectionOptions) {}

  get isOpen(): boolean {
    return this.socket !== undefined;
  }

  /** Live records of one table; unsubscribing the last observer closes the socket. */
  subscribe(spec: SubscriptionSpec): Observable<TableState> {
    return new Observable<TableState>((observer) => {
      const id = nextId('s');
      const sub: Subscription = {
        spec,
        records: new Map(),
        seq: 0,
        synced: false,
        next: (s) => observer.next(s),
        fail: (e) => observer.error(e),
      };
      this.subs.set(id, sub);
      if (this.ready) {
        this.send({ type: 'subscribe', sub: id, ...spec });
      }
      if (this.reconnectTimer && this.waitingBecause) {
        this.emit(sub, spec.table, Date.now(), this.waitingBecause);
      }
      this.ensureOpen();
      return () => {
        if (!this.subs.delete(id)) {
          return;
        }
        if (this.ready) {
          this.send({ type: 'unsubscribe', sub: id });
        }
        this.closeIfIdle();
      };
    });
  }

  /** One query (history) or values request; rejects with a sentence on error or timeout. */
  request<R extends Omit<QueryMessage, 'id'> | Omit<ValuesQueryMessage, 'id'>>(body: R): Promise<Answer<R & Request>> {
    const message = { ...body, id: nextId('q') } as Request;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(message.id);
        reject(new CollectorError('The collector did not answer in time.', false));
        this.closeIfIdle();
      }, this.opts.requestTimeoutMs ?? 15_000);
      this.pending.set(message.id, { message, resolve: resolve as Pending['resolve'], reject, timer });
      if (this.ready) {
        this.send(message);
      }
      this.ensureOpen();
    });
  }

  /** Closes the socket and fails everything still waiting. */
  close(): void {
    this.failAll(new CollectorError('The data source was closed.', true));
    this.teardown();
  }

  private ensureOpen(): void {
    if (this.socket || this.reconnectTimer || this.opening) {
      return;
    }
    this.opening = true;
    void this.open();
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    let url: string;
    try {
      url = await this.opts.url();
    } catch (e) {
      if (generation !== this.generation) {
        return;
      }
      this.opening = false;
      const err = e instanceof CollectorError ? e : new CollectorError(e instanceof Error ? e.message : String(e), false);
      return this.dropped(err);
    }
    if (generation !== this.generation) {
      return;
    }
    this.opening = false;
    if (!this.inUse()) {
      return;
    }
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    let ws: WebSocket;
    try {
      ws = new Impl(url);
    } catch (e) {
      // The browser refuses the URL itself (e.g. a fragment): retrying cannot help. The ticket stays out of sight.
      const shown = url.split('?')[0];
      return this.dropped(new CollectorError(`The browser cannot open a WebSocket to ${shown}: ${e instanceof Error ? e.message : String(e)}`, true));
    }
    this.socket = ws;
    this.lastHeard = Date.now();
    // Something that takes the connection and stays silent (a hung collector, another service)
    // would otherwise leave the panel loading: the ping timer only starts at hello.
    const helloMs = this.opts.helloTimeoutMs ?? 10_000;
    this.helloTimer = setTimeout(() => {
      this.helloTimer = undefined;
      this.dropped(new CollectorError(`The collector took the connection but did not say hello within ${helloMs / 1000} s.`, false));
    }, helloMs);
    ws.onmessage = (ev) => generation === this.generation && this.received(ev.data);
    ws.onclose = (ev) => generation === this.generation && this.closed(ev.code, ev.reason);
    // An error event is always followed by close; the close code says more.
    ws.onerror = () => {};
  }

  private received(data: unknown): void {
    this.lastHeard = Date.now();
    const m = parseServerMessage(data);
    if (!m) {
      return this.dropped(new CollectorError('The collector sent something that is not JSON.', false));
    }
    if (!this.ready) {
      if (m.type === 'error') {
        return this.dropped(serverError(m));
      }
      if (m.type !== 'hello') {
        return this.dropped(new CollectorError(`The collector spoke before saying hello (${m.type}).`, false));
      }
      if (m.protocol !== PROTOCOL_VERSION) {
        return this.dropped(new CollectorError(wrongProtocol(m.protocol), true));
      }
    }
    const bad = malformed(m);
    if (bad) {
      return this.dropped(new CollectorError(`The collector sent a malformed ${m.type} message: ${bad}.`, false));
    }
    switch (m.type) {
      case 'snapshot': {
        const sub = this.subs.get(m.sub);
        if (!sub) {
          return;
        }
        sub.records = new Map(m.records.map((r) => [r.id, r]));
        sub.seq = m.seq;
        sub.synced = true;
        // Backoff starts over only once the socket has delivered, not at hello: a collector that
        // greets and then fails would otherwise be reopened at the shortest delay for ever.
        this.attempt = 0;
        return this.emit(sub, m.table, m.time);
      }
      case 'delta': {
        const sub = this.subs.get(m.sub);
        if (!sub || !sub.synced) {
          return;
        }
        if (m.seq !== sub.seq + 1) {
          sub.synced = false;
          return this.send({ type: 'resync', sub: m.sub });
        }
        for (const id of m.remove) {
          sub.records.delete(id);
        }
        for (const r of m.upsert) {
          sub.records.set(r.id, r);
        }
        sub.seq = m.seq;
        return this.emit(sub, m.table, m.time);
      }
      case 'result':
      case 'values':
        return this.answered(m.id, m);
      case 'ping':
        return this.send({ type: 'pong', t: m.t });
      case 'pong':
        return;
      case 'error':
        return this.serverFailed(m.ref, serverError(m));
      case 'hello':
        return this.ready ? undefined : this.greeted(m);
    }
  }

  private greeted(m: HelloMessage): void {
    this.ready = true;
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.send({ type: 'hello', protocol: PROTOCOL_VERSION, client: this.opts.clientName });
    for (const [id, sub] of this.subs) {
      sub.synced = false;
      this.send({ type: 'subscribe', sub: id, ...sub.spec });
    }
    for (const p of this.pending.values()) {
      this.send(p.message);
    }
    const heartbeat = Math.max(1000, m.heartbeatMs);
    this.pingTimer = setInterval(() => {
      // Nothing heard for three heartbeats: the path is dead even if TCP has not noticed.
      if (Date.now() - this.lastHeard > 3 * heartbeat) {
        return this.dropped(new CollectorError(UNREACHABLE, false));
      }
      this.send({ type: 'ping', t: Date.now() });
    }, heartbeat / 2);
  }

  private emit(sub: Subscription, table: TableName, time: number, problem?: string): void {
    sub.next({ table, records: [...sub.records.values()], seq: sub.seq, time, ...(problem ? { problem } : {}) });
  }

  private answered(id: string, m: ResultMessage | ValuesMessage): void {
    const p = this.pending.get(id);
    if (!p) {
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    this.attempt = 0;
    p.resolve(m);
    this.closeIfIdle();
  }

  private serverFailed(ref: string | undefined, err: CollectorError): void {
    const sub = ref ? this.subs.get(ref) : undefined;
    if (sub) {
      this.subs.delete(ref!);
      sub.fail(err);
      return this.closeIfIdle();
    }
    const p = ref ? this.pending.get(ref) : undefined;
    if (p) {
      this.pending.delete(ref!);
      clearTimeout(p.timer);
      p.reject(err);
      return this.closeIfIdle();
    }
    if (err.fatal) {
      this.dropped(err);
    }
  }

  private closed(code: number, reason: string): void {
    const known = closeError(code, reason);
    this.dropped(known ?? new CollectorError(this.ready ? 'The connection to the collector was lost.' : UNREACHABLE, false));
  }

  /**
   * The socket is gone (or never came). A fatal error fails everyone; otherwise requests fail (they
   * would be answered too late) and subscriptions wait for the reconnect.
   */
  private dropped(err: CollectorError): void {
    this.teardown();
    if (err.fatal) {
      return this.failAll(err);
    }
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
    if (this.subs.size === 0) {
      return;
    }
    this.waitingBecause = `${err.message} Reconnecting…`;
    for (const sub of this.subs.values()) {
      this.emit(sub, sub.spec.table, Date.now(), this.waitingBecause);
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff ?? DEFAULT_BACKOFF);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.ensureOpen();
    }, delay);
  }

  private failAll(err: Error): void {
    const subs = [...this.subs.values()];
    this.subs.clear();
    for (const s of subs) {
      s.fail(err);
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private inUse(): boolean {
    return this.subs.size > 0 || this.pending.size > 0;
  }

  private closeIfIdle(): void {
    if (!this.inUse()) {
      this.teardown();
    }
  }

  private teardown(): void {
    this.generation += 1;
    this.opening = false;
    this.ready = false;
    clearInterval(this.pingTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.helloTimer);
    this.pingTimer = undefined;
    this.reconnectTimer = undefined;
    this.helloTimer = undefined;
    const ws = this.socket;
    this.socket = undefined;
    if (ws && ws.readyState <= 1) {
      ws.close(1000, 'done');
    }
  }

  private send(m: ClientMessage): void {
    if (this.socket?.readyState === 1) {
      this.socket.send(JSON.stringify(m));
    }
  }
}
