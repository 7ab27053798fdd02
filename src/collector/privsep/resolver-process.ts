// The privileged parent's side of the resolver process (./resolver-child.ts). The parent keeps the
// ring buffer and hands the raw DNS answers over; the child parses them, talks to the Kubernetes
// API server and answers reverse lookups, and sends back facts the parent checks strictly before
// using (./resolver-facts.ts). Nothing here waits on the child: while it is down, answers are
// dropped and counted, the Kubernetes facts it sent last stand, reverse lookups answer nothing, and
// it is started again with backoff. A child that keeps sending bad lines is killed and restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { AddressName } from '../resolve/dns/dns-message.js';
import type { DnsRecordSink, DnsSnifferStats } from '../resolve/dns/dns-sniffer.js';
import type { KubeIdentity } from '../resolve/kubernetes/kube-index.js';
import { restartAfter } from '../resolve/nat/restart-backoff.js';
import { describePrivileges } from './process-status.js';
import { parseFromResolver } from './resolver-facts.js';
import { KubeFacts } from './resolver-kube-facts.js';
import { LineReader } from './resolver-lines.js';
import { MAX_DNS_RECORDS, MAX_LINE_BYTES, MAX_NAMES_PER_ANSWER, MAX_REVERSE_PENDING, type FromResolver, type ToResolver } from './resolver-messages.js';
import { nodeArgs, setprivArgs, type ServerUser } from './user.js';

// Run from sources (tsx) the child is resolver-child.ts, from lib/ resolver-child.js.
const CHILD = fileURLToPath(new URL(`./resolver-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Bytes waiting to be written to the child past which DNS answers are dropped, not queued. */
const MAX_BACKLOG = 4 * 1024 * 1024;
/** `dns` messages the child may leave unanswered; past that it is behind, and answers are dropped. */
const MAX_UNANSWERED = 1024;
/** Bad lines within a minute past which the child is taken as broken or hostile, and replaced. */
const MAX_BAD_LINES = 20;
/** Lines of the child's log and of complaints about what it sent, per minute (its starts and ends are always told). */
const LOG_BUDGET = 30;

export interface ResolverSetup {
  /** The first message every new child gets (Kubernetes credentials, reverse DNS servers). */
  init: Extract<ToResolver, { type: 'init' }>;
  /** Rotated tokens: read again every tokenCheckMs, sent to the child when changed. */
  tokens?: { user: string; read: () => string }[];
}

export interface ResolverProcessOptions {
  user: ServerUser;
  /** What ./resolver-init.ts gives; a promise while the cluster's configuration is still being read (the first child starts once it is). */
  setup: ResolverSetup | Promise<ResolverSetup>;
  onNames: (names: AddressName[]) => void;
  log: (line: string) => void;
  tokenCheckMs?: number;
  /** Another child module (tests start a misbehaving one). */
  module?: string;
  /** Reverse lookups not answered by then answer nothing. */
  reverseTimeoutMs?: number;
}

export interface ResolverProcessHealth {
  pid?: number;
  starts: number;
  /** Lines the parent refused, and why the last one was refused. */
  rejected: number;
  lastRejection?: string;
  /** DNS answers dropped because the child was down or behind. */
  dnsDropped: number;
  kubeAddresses: number;
}

export interface ResolverProcess {
  /** Where the DNS sniffer hands its ring buffer records. */
  readonly dns: DnsRecordSink;
  kube(ip: string): KubeIdentity | undefined;
  reverse(ip: string): Promise<string | undefined>;
  pid(): number | undefined;
  /** Resolves when a child has said it runs (tests, and the start-up line). */
  ready(): Promise<void>;
  health(): ResolverProcessHealth;
  close(): Promise<void>;
}

export function startResolverProcess(o: ResolverProcessOptions): ResolverProcess {
  const module = o.module ?? CHILD;
  const facts = new KubeFacts();
  const counts: Omit<DnsSnifferStats, 'lost'> = { answers: 0, names: 0, malformed: 0 };
  const health: ResolverProcessHealth = { starts: 0, rejected: 0, dnsDropped: 0, kubeAddresses: 0 };
  const pending = new Map<number, (name: string | undefined) => void>();
  let nextId = 1;
  let child: ChildProcess | undefined;
  let io: Socket | undefined;
  let closed = false;
  let quickEnds = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let badLines: number[] = [];
  let logged: number[] = [];
  let suppressed = 0;
  const readyWaiters: (() => void)[] = [];
  let isReady = false;
  let lastFailure: string | undefined;
  /** Records in each `dns` message the current child has not answered yet, oldest first. */
  let awaiting: number[] = [];

  /** Logs what the child caused within the budget; past it, counts what was left out and says so later. */
  const say = (line: string): void => {
    const now = Date.now();
    logged = logged.filter((t) => now - t < 60_000);
    if (logged.length >= LOG_BUDGET) {
      suppressed += 1;
      return;
    }
    logged.push(now);
    if (suppressed > 0) {
      o.log(`resolver process: ${suppressed} more lines left out (more than ${LOG_BUDGET} a minute)`);
      suppressed = 0;
    }
    o.log(line);
  };

  const write = (m: ToResolver): boolean => {
    if (!io || io.destroyed || !io.writable || io.writableLength > MAX_BACKLOG) return false;
    io.write(`${JSON.stringify(m)}\n`);
    return true;
  };

  /** Children being replaced: nothing more they sent is read. */
  const replaced = new WeakSet<ChildProcess>();
  const reject = (c: ChildProcess, why: string): void => {
    health.rejected += 1;
    health.lastRejection = why;
    say(`resolver process ${c.pid} sent a bad message (${why}); ignored`);
    const now = Date.now();
    badLines = badLines.filter((t) => now - t < 60_000);
    badLines.push(now);
    if (badLines.length > MAX_BAD_LINES && c === child) {
      o.log(`resolver process ${c.pid}: more than ${MAX_BAD_LINES} bad messages within a minute; replacing it`);
      badLines = [];
      replaced.add(c);
      c.kill('SIGKILL');
    }
  };

  const take = (c: ChildProcess, m: FromResolver): void => {
    switch (m.type) {
      case 'ready':
        if (isReady) {
          reject(c, 'said ready twice');
          break;
        }
        isReady = true;
        o.log(`resolver process ${c.pid} parses DNS answers, Kubernetes API responses and reverse DNS, as ${describePrivileges(c.pid)}`);
        for (const w of readyWaiters.splice(0)) w();
        break;
      case 'dns': {
        // Answers only to what was asked, one for one: the child cannot make this process do DNS
        // work beyond the records it was handed.
        const asked = awaiting.shift();
        if (asked === undefined) {
          reject(c, 'a DNS answer nobody asked for');
          break;
        }
        if (m.answers + m.malformed !== asked || m.names.length > asked * MAX_NAMES_PER_ANSWER) {
          reject(c, `a DNS answer that does not fit the ${asked} records asked about`);
          break;
        }
        counts.answers += m.answers;
        counts.malformed += m.malformed;
        counts.names += m.names.length;
        if (m.lastError !== undefined) counts.lastError = m.lastError;
        if (m.names.length > 0) o.onNames(m.names);
        break;
      }
      case 'kube':
        try {
          facts.apply(m);
        } catch (e) {
          reject(c, (e as Error).message);
        }
        health.kubeAddresses = facts.size;
        break;
      case 'reverse': {
        // An id no lookup waits for (answered after its timeout) is simply late.
        const done = pending.get(m.id);
        pending.delete(m.id);
        done?.(m.name);
        break;
      }
      case 'log':
        say(`resolver process: ${m.line}`);
        break;
    }
  };

  const start = (): void => {
    if (closed) return;
    const startedAt = Date.now();
    const c = spawn('setpriv', [...setprivArgs(o.user), process.execPath, ...nodeArgs(module)], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    child = c;
    health.starts += 1;
    isReady = false;
    awaiting = [];
    facts.childStarted();
    const s = c.stdio[3] as Socket;
    io = s;
    const lines = new LineReader(
      MAX_LINE_BYTES,
      (line) => {
        if (closed || c !== child || replaced.has(c)) return;
        const r = parseFromResolver(line);
        if (r.error !== undefined) reject(c, r.error);
        else take(c, r.message);
      },
      (bytes) => !replaced.has(c) && reject(c, `a line of more than ${bytes} bytes (at most ${MAX_LINE_BYTES})`),
    );
    s.on('data', (d: Buffer) => lines.push(d));
    // EPIPE and the like when the child dies: its exit is what counts.
    s.on('error', () => undefined);
    let ended = false;
    const end = (how: string): void => {
      if (ended) return;
      ended = true;
      const wasReady = isReady && c === child;
      if (c === child) {
        child = undefined;
        io = undefined;
        health.dnsDropped += awaiting.reduce((a, b) => a + b, 0);
        awaiting = [];
      }
      s.destroy();
      for (const [id, done] of pending) {
        pending.delete(id);
        done(undefined);
      }
      if (closed) return;
      const r = restartAfter(quickEnds, Date.now() - startedAt);
      quickEnds = r.quickEnds;
      // A child that never got going (setpriv missing, Node failing) is told once per reason, not per retry.
      if (wasReady || how !== lastFailure) o.log(`resolver process ${c.pid ?? '(not started)'} ended (${how}); names from DNS and Kubernetes keep their last values; starting a new one in ${r.delayMs} ms`);
      lastFailure = wasReady ? undefined : how;
      restartTimer = setTimeout(start, r.delayMs);
      restartTimer.unref();
    };
    c.on('error', (e: NodeJS.ErrnoException) => end(e.code === 'ENOENT' ? 'setpriv (util-linux) is not installed' : e.message));
    c.on('exit', (code, signal) => end(signal ?? `exit code ${code}`));
    write(init());
  };

  let setup: ResolverSetup = { init: { type: 'init' } };
  let tokens: { user: string; read: () => string; last: string }[] = [];
  /** The init message with the latest token of each user, for a child started after a rotation. */
  const init = (): ToResolver => {
    const kube = setup.init.kube;
    if (!kube || tokens.length === 0) return setup.init;
    const users = kube.config.users.map((u) => {
      const t = tokens.find((x) => x.user === u.name);
      return t ? { ...u, token: t.last } : u;
    });
    return { ...setup.init, kube: { ...kube, config: { ...kube.config, users } } };
  };
  const tokenTimer = setInterval(() => {
    for (const t of tokens) {
      let token: string;
      try {
        token = t.read();
      } catch (e) {
        say(`kubernetes: token of ${t.user}: ${(e as Error).message}`);
        continue;
      }
      if (token !== t.last && write({ type: 'token', user: t.user, token })) t.last = token;
    }
  }, o.tokenCheckMs ?? 60_000);
  tokenTimer.unref();
  void Promise.resolve(o.setup).then((s) => {
    setup = s;
    const tokenIn = (user: string): string => s.init.kube?.config.users.find((u) => u.name === user)?.token ?? '';
    tokens = (s.tokens ?? []).map((t) => ({ ...t, last: tokenIn(t.user) }));
    start();
  });

  const dns: DnsRecordSink = {
    take(records) {
      for (let i = 0; i < records.length; i += MAX_DNS_RECORDS) {
        const batch = records.slice(i, i + MAX_DNS_RECORDS);
        if (awaiting.length < MAX_UNANSWERED && write({ type: 'dns', records: batch.map((r) => r.toString('base64')) })) awaiting.push(batch.length);
        else health.dnsDropped += batch.length;
      }
    },
    counts: () => counts,
  };

  return {
    dns,
    kube: (ip) => facts.lookup(ip),
    reverse(ip) {
      if (pending.size >= MAX_REVERSE_PENDING) return Promise.resolve(undefined);
      const id = nextId++;
      if (!write({ type: 'reverse', id, ip })) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve(undefined);
        }, o.reverseTimeoutMs ?? 5_000);
        pending.set(id, (name) => {
          clearTimeout(timer);
          resolve(name);
        });
      });
    },
    pid: () => child?.pid,
    ready: () => (isReady ? Promise.resolve() : new Promise((resolve) => readyWaiters.push(resolve))),
    health: () => ({ ...health, ...(child?.pid ? { pid: child.pid } : {}) }),
    async close() {
      closed = true;
      clearTimeout(restartTimer);
      clearInterval(tokenTimer);
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      // Closing fd 3 ends the child; one that does not is not waited for long.
      io?.end();
      const timer = setTimeout(() => c.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(timer);
    },
  };
}
