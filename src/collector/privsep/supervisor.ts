// The privileged parent's half of privilege separation. It keeps the kernel tables, the resolver
// and every capability, and never reads a byte from the network: it binds the listening socket
// (so ports below 1024 work), then starts the server process through setpriv (util-linux) as
// --user with no capabilities, an empty bounding set and no_new_privs. setpriv drops them before
// Node starts, so every thread of the server (libuv pool, V8 workers) is born without them, which
// capset() from inside Node could not promise. The parent feeds the server's tables and health
// over IPC and, when the server process dies, starts a new one on the same socket address.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import type { CollectorParts } from '../collector.js';
import type { CollectorConfig } from '../config.js';
import type { ChildMessage, HealthReport, ParentMessage } from './messages.js';
import { TableFeed } from './table-feed.js';
import { setprivArgs, type ServerUser } from './user.js';

export { setprivArgs };

export interface PrivsepOptions {
  user: ServerUser;
  log: (line: string) => void;
  /** The server process died too often: everything is closed, the collector should exit 1. */
  onGiveUp: () => void;
  healthIntervalMs?: number;
  /** More deaths than this within restartWindowMs and the parent gives up. */
  maxRestarts?: number;
  restartWindowMs?: number;
}

export interface Privsep {
  port: number;
  /** PID of the current server process. */
  serverPid(): number | undefined;
  restarts(): number;
  close(reason: string): Promise<void>;
}

// Run from sources (tsx) the server is server-child.ts, from lib/ server-child.js.
const CHILD = fileURLToPath(new URL(`./server-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

function bind(host: string, port: number): Promise<NetServer> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, host, () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/**
 * The server process's young generation, after the flags it inherits (the last one counts). What it
 * allocates per round (IPC messages, patches, view JSON) dies young, so 2 MB semi-spaces do: about
 * 9 MB less than 8 MB at 100,000 links changing every round, for no more CPU (1 MB: 5 MB less again,
 * for 20% more CPU).
 */
export const SERVER_YOUNG_GENERATION = '--max-semi-space-size=2';

export async function startPrivsep(config: CollectorConfig, token: string, parts: CollectorParts, o: PrivsepOptions): Promise<Privsep> {
  const tls = config.tls ? { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') } : undefined;
  let child: ChildProcess | undefined;
  let port = config.port;
  let stopping = false;
  let restarts = 0;
  const deaths: number[] = [];

  /** `written` runs once the channel took the message, or at once when there is no server process to take it. */
  const send = (m: ParentMessage, written?: () => void): void => {
    if (child?.connected) child.send(m, written && (() => written()));
    else written?.();
  };
  // Figures reach clients on the server's cadence; half of it here keeps them at most that late.
  const figuresEveryMs = config.figuresIntervalMs / 2;
  const feeds = [new TableFeed<LinkRecord>('links', parts.links, send, figuresEveryMs), new TableFeed<FlowRecord>('flows', parts.flows, send, figuresEveryMs)];
  const healthNow = (): Record<string, HealthReport> => {
    const out: Record<string, HealthReport> = {};
    for (const [name, provider] of Object.entries(parts.health)) {
      try {
        out[name] = { value: provider() };
      } catch (e) {
        out[name] = { error: (e as Error).message };
      }
    }
    out.privsep = { value: { parentPid: process.pid, serverPid: child?.pid, restarts } };
    return out;
  };
  const healthTimer = setInterval(() => send({ type: 'health', components: healthNow() }), o.healthIntervalMs ?? 500);
  healthTimer.unref();

  /** Binds, starts a server process on the socket, and resolves once it serves. */
  const spawnServer = async (): Promise<void> => {
    const listening = await bind(config.host, port);
    port = (listening.address() as { port: number }).port;
    if (stopping) {
      listening.close();
      return;
    }
    const c = fork(CHILD, [], {
      execPath: 'setpriv',
      execArgv: [...setprivArgs(o.user), process.execPath, ...process.execArgv, SERVER_YOUNG_GENERATION],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child = c;
    let failedEarly: (e: NodeJS.ErrnoException) => void = () => undefined;
    let endedEarly: (code: number | null, signal: NodeJS.Signals | null) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      failedEarly = (e) => reject(new Error(e.code === 'ENOENT' ? 'setpriv (util-linux) is needed to start the unprivileged server process; install it or run with --no-privsep' : `server process: ${e.message}`));
      endedEarly = (code, signal) => reject(new Error(`server process ended before serving (${signal ?? `exit code ${code}`})`));
      // Kept for the life of the process: a send to a server that just died fails with EPIPE, and
      // its exit handler, not the error, is what matters then.
      c.on('error', (e: NodeJS.ErrnoException) => failedEarly(e));
      c.once('exit', endedEarly);
      c.on('message', (m: ChildMessage) => {
        if (m?.type === 'ready') resolve();
      });
    });
    c.send({ type: 'init', config, token, ...(tls ? { tls } : {}), features: parts.features, parentPid: process.pid } satisfies ParentMessage);
    send({ type: 'health', components: healthNow() });
    for (const f of feeds) f.reset();
    // The parent's copy is closed once sent: only the server process accepts connections.
    c.send({ type: 'listen' } satisfies ParentMessage, listening, () => listening.close());
    try {
      await ready;
    } catch (e) {
      listening.close();
      c.kill('SIGKILL');
      throw e;
    } finally {
      c.off('exit', endedEarly);
    }
    c.once('exit', (code, signal) => died(c, signal ?? `exit code ${code}`));
  };

  const died = (c: ChildProcess, how: string): void => {
    if (stopping || c !== child) return;
    child = undefined;
    const now = Date.now();
    deaths.push(now);
    while (deaths.length && now - deaths[0]! > (o.restartWindowMs ?? 60_000)) deaths.shift();
    if (deaths.length > (o.maxRestarts ?? 3)) {
      o.log(`weft-collector: server process ${c.pid} ended (${how}), ${deaths.length} times within ${Math.round((o.restartWindowMs ?? 60_000) / 1000)} s: giving up`);
      o.onGiveUp();
      return;
    }
    o.log(`weft-collector: server process ${c.pid} ended (${how}); starting a new one`);
    // A signal that ended the server may be on its way to this process too: let it arrive first.
    setTimeout(() => {
      if (stopping) return;
      spawnServer().then(
        () => {
          if (stopping) return;
          restarts += 1;
          o.log(`weft-collector: server process ${child?.pid} serving again on port ${port}`);
        },
        (e: Error) => {
          o.log(`weft-collector: ${e.message}; giving up`);
          o.onGiveUp();
        },
      );
    }, 500);
  };

  const closeFeeds = (): void => {
    clearInterval(healthTimer);
    for (const f of feeds) f.close();
  };
  try {
    await spawnServer();
  } catch (e) {
    closeFeeds();
    throw e;
  }

  return {
    port,
    serverPid: () => child?.pid,
    restarts: () => restarts,
    async close(reason) {
      stopping = true;
      const c = child;
      if (c && c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        if (c.connected) c.send({ type: 'stop', reason } satisfies ParentMessage);
        // The server closes its clients within about a second; past that it is not waited for.
        const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      closeFeeds();
    },
  };
}
