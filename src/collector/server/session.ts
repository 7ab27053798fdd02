// One authenticated WebSocket: the handshake (server hello, then the client's hello naming its
// protocol version), message dispatch, and heartbeats both ways. Protocol violations end the
// socket with an error message and a close code; a bad request only earns an error message.
import type { WebSocket } from 'ws';
import { CloseCode, PROTOCOL_VERSION, type ClientMessage, type ErrorCode, type HelloMessage, type QueryMessage, type ResultMessage, type ServerMessage, type ValuesQueryMessage } from '../../protocol/index.js';
import type { HeldParts } from './part-pool.js';
import type { Channel, Subscriptions } from './subscriptions.js';
import { parseClientMessage } from './validate.js';

export interface SessionContext {
  subscriptions: Subscriptions;
  hello(): HelloMessage;
  query(msg: QueryMessage): ResultMessage;
  values(field: ValuesQueryMessage['field']): string[];
  maxMessageBytes: number;
  heartbeatMs: number;
  heartbeatTimeoutMs: number;
  maxSubscriptions: number;
  /** Above this many bytes waiting for the client, its messages are not read until it drains. */
  maxBufferedBytes: number;
  /** Counts each message sent, by type, and its bytes. */
  sent(type: string, bytes: number): void;
}

const CLOSE_FOR: Partial<Record<ErrorCode, number>> = {
  malformed: CloseCode.Malformed,
  'unknown-type': CloseCode.Malformed,
  'too-large': CloseCode.TooLarge,
  'protocol-version': CloseCode.ProtocolVersion,
  unauthorized: CloseCode.Unauthorized,
  'bad-ticket': CloseCode.Unauthorized,
  'forbidden-origin': CloseCode.ForbiddenOrigin,
  'heartbeat-timeout': CloseCode.HeartbeatTimeout,
  'shutting-down': CloseCode.GoingAway,
};

/** `text` cut to 123 UTF-8 bytes, the limit of a close reason, never inside a character. */
function closeReason(text: string): string {
  const b = Buffer.from(text);
  if (b.length <= 123) return text;
  let end = 123;
  // A continuation byte at the cut means the character before it would be split: leave it out.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end -= 1;
  return b.subarray(0, end).toString();
}

/** Sends an error and closes with the code that goes with it; the reason repeats the sentence. */
export function refuse(ws: WebSocket, code: ErrorCode, message: string): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(JSON.stringify({ type: 'error', code, message } satisfies ServerMessage));
  ws.close(CLOSE_FOR[code] ?? CloseCode.Malformed, closeReason(`${code}: ${message}`));
}

export class Session implements Channel {
  private greeted = false;
  private lastHeard = Date.now();
  private readonly heartbeat: NodeJS.Timeout;
  /** Messages ws had already read when reading stopped: answered, in order, once the client drains. */
  private readonly held: { data: Buffer | Buffer[] | ArrayBuffer; isBinary: boolean }[] = [];
  private drain: NodeJS.Timeout | undefined;
  /** What was waiting for the client at the last drain check: while reading is stopped, less counts as life. */
  private waiting = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly ctx: SessionContext,
  ) {
    ws.on('message', (data, isBinary) => this.receive(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
    ws.on('close', () => this.dispose());
    ws.on('error', () => this.dispose());
    this.heartbeat = setInterval(() => this.beat(), ctx.heartbeatMs);
    this.heartbeat.unref();
    this.write(ctx.hello());
  }

  send(head: string, tail: HeldParts, kind: 'snapshot' | 'delta'): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // Fragments of one text message: the shared tail is written from the same Buffers for every
    // client, never copied into a per-client string. Writes complete in order, so the last one's
    // callback (called with an error too, when the socket goes first) says the tail is done with.
    const done = tail.hold();
    const last = tail.parts.length - 1;
    this.ws.send(head, { binary: false, fin: false });
    tail.parts.forEach((part, i) => this.ws.send(part, { binary: false, fin: i === last }, i === last ? done : undefined));
    this.ctx.sent(kind, head.length + tail.bytes);
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  private write(msg: ServerMessage): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    const text = JSON.stringify(msg);
    this.ws.send(text);
    this.ctx.sent(msg.type, text.length);
  }

  private beat(): void {
    if (Date.now() - this.lastHeard > this.ctx.heartbeatTimeoutMs) {
      refuse(this.ws, 'heartbeat-timeout', `nothing heard from the client for ${this.ctx.heartbeatTimeoutMs} ms`);
      this.ws.terminate();
      return;
    }
    this.write({ type: 'ping', t: Date.now() });
  }

  private receive(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    this.lastHeard = Date.now();
    if (this.drain) {
      this.held.push({ data, isBinary });
      return;
    }
    this.onMessage(data, isBinary);
    this.holdBack();
  }

  /**
   * A client that leaves more than the bound unread is not read either until it drains: its
   * requests wait in TCP, not their answers in the collector's memory.
   */
  private holdBack(): void {
    if (this.ws.bufferedAmount <= this.ctx.maxBufferedBytes) return;
    this.ws.pause();
    this.waiting = this.ws.bufferedAmount;
    this.drain = setInterval(() => this.drained(), 50);
  }

  private drained(): void {
    // Its pongs are not read meanwhile: a client taking what was sent is alive, one taking nothing for
    // the heartbeat timeout is closed as a silent one would be.
    if (this.ws.bufferedAmount < this.waiting) this.lastHeard = Date.now();
    this.waiting = this.ws.bufferedAmount;
    if (this.ws.bufferedAmount > this.ctx.maxBufferedBytes / 4) return;
    clearInterval(this.drain);
    this.drain = undefined;
    this.lastHeard = Date.now();
    while (this.held.length > 0 && !this.drain) {
      const m = this.held.shift()!;
      this.onMessage(m.data, m.isBinary);
      this.holdBack();
    }
    if (!this.drain) this.ws.resume();
  }

  private onMessage(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (buf.length > this.ctx.maxMessageBytes) return refuse(this.ws, 'too-large', `message of ${buf.length} bytes is over the ${this.ctx.maxMessageBytes}-byte limit`);
    if (isBinary) return refuse(this.ws, 'malformed', 'binary frames are not part of the protocol; send JSON text');
    const p = parseClientMessage(buf.toString('utf8'));
    if (!p.ok) {
      if (p.code === 'bad-request' && this.greeted) return this.error(p.code, p.message, p.ref);
      // Before a good hello, a bad request is a broken handshake: the socket goes, as for anything else.
      return refuse(this.ws, p.code === 'bad-request' ? 'malformed' : p.code, p.message);
    }
    try {
      this.dispatch(p.msg);
    } catch (e) {
      // A fault of ours answering one request must not take the collector or the socket down.
      this.error('internal', `could not answer ${p.msg.type}: ${(e as Error).message}`);
    }
  }

  private dispatch(msg: ClientMessage): void {
    if (!this.greeted) {
      if (msg.type !== 'hello') return refuse(this.ws, 'malformed', `first message must be hello naming the protocol version, got ${msg.type}`);
      if (msg.protocol !== PROTOCOL_VERSION) return refuse(this.ws, 'protocol-version', `collector speaks protocol ${PROTOCOL_VERSION}, client asked for ${msg.protocol}`);
      this.greeted = true;
      return;
    }
    switch (msg.type) {
      case 'hello':
        return this.error('bad-request', 'hello was already received');
      case 'ping':
        return this.write({ type: 'pong', t: msg.t });
      case 'pong':
        return;
      case 'subscribe': {
        const { type: _type, sub, ...spec } = msg;
        // Subscribing again with the same sub replaces it, so it is never over the bound.
        if (!this.ctx.subscriptions.has(this, sub) && this.ctx.subscriptions.count(this) >= this.ctx.maxSubscriptions) {
          return this.error('bad-request', `at most ${this.ctx.maxSubscriptions} subscriptions per socket`, sub);
        }
        return this.ctx.subscriptions.subscribe(this, sub, spec);
      }
      case 'unsubscribe':
        if (!this.ctx.subscriptions.unsubscribe(this, msg.sub)) this.error('not-found', `no subscription "${msg.sub}"`, msg.sub);
        return;
      case 'resync':
        if (!this.ctx.subscriptions.resync(this, msg.sub)) this.error('not-found', `no subscription "${msg.sub}"`, msg.sub);
        return;
      case 'query':
        return this.write(this.ctx.query(msg));
      case 'values':
        return this.write({ type: 'values', id: msg.id, values: this.ctx.values(msg.field) });
    }
  }

  private error(code: ErrorCode, message: string, ref?: string): void {
    this.write({ type: 'error', code, message, ...(ref !== undefined ? { ref } : {}) });
  }

  private dispose(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.drain);
    this.ctx.subscriptions.drop(this);
  }
}
