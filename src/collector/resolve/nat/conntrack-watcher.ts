// Feeds a NatTable from Debian's `conntrack` tool, per network namespace: `conntrack -E` streams
// new and destroyed connections as they happen, and `conntrack -L` lists the table at start and
// then now and then, so entries of long connections stay and missed events heal.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseConntrackLine } from './conntrack-line.js';
import { dieWithParent, findSetpriv } from './die-with-parent.js';
import { NatTable } from './nat-table.js';
import { netnsIdentity } from './netns-identity.js';
import { restartAfter } from './restart-backoff.js';

export interface ConntrackWatcherOptions {
  /** Network namespaces to watch, as paths (/run/netns/NAME, /proc/PID/ns/net); undefined = our own. */
  netns?: (string | undefined)[];
  /** How often the whole table is listed again. */
  resyncMs?: number;
  /** Entries not confirmed by an event or a listing for this long are dropped. */
  ttlMs?: number;
  /** How often the namespaces' paths are looked at, to stop watching one that is gone and start on one that came. */
  followMs?: number;
  log?: (line: string) => void;
}

/** One namespace to watch, and its `conntrack -E`. */
interface Watch {
  netns: string | undefined;
  /** The namespace the path named when last looked at: undefined while there is none (or not looked at yet). */
  inode?: number;
  looked: boolean;
  child?: ChildProcess;
  retry?: NodeJS.Timeout;
}

function command(setpriv: string | undefined, netns: string | undefined, args: string[]): [string, string[]] {
  return netns ? dieWithParent(setpriv, 'nsenter', [`--net=${netns}`, 'conntrack', ...args]) : dieWithParent(setpriv, 'conntrack', args);
}

export class ConntrackWatcher {
  readonly table: NatTable;
  private readonly watches: Watch[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private following = false;
  private readonly o: Required<ConntrackWatcherOptions>;
  /** Per namespace and command (listing, stream), the last problem told: the same one is not told again. */
  private readonly told = new Map<string, string>();
  private readonly setpriv = findSetpriv();

  constructor(opts: ConntrackWatcherOptions = {}) {
    this.o = { netns: [undefined], resyncMs: 30_000, ttlMs: 120_000, followMs: 1000, log: () => {}, ...opts };
    this.table = new NatTable(Math.max(this.o.ttlMs, this.o.resyncMs * 2));
  }

  start(): void {
    if (!this.setpriv) this.o.log('nat: setpriv (util-linux) not found: the conntrack processes will outlive this collector if it is killed or crashes, and keep the namespaces they watch; install util-linux');
    for (const netns of this.o.netns) {
      const w: Watch = { netns, looked: netns === undefined };
      this.watches.push(w);
      if (netns === undefined) this.begin(w);
    }
    void this.follow();
    this.every(this.o.followMs, () => void this.follow());
    this.every(this.o.resyncMs, () => {
      for (const w of this.watches) if (w.netns === undefined || w.inode !== undefined) void this.list(w.netns);
    });
    this.every(Math.min(this.o.ttlMs, 60_000), () => this.table.sweep());
  }

  /** Lists the table of one namespace now (also used at start). */
  list(netns?: string): Promise<void> {
    const [cmd, args] = command(this.setpriv, netns, ['-L', '-o', 'extended']);
    return new Promise((resolve) => {
      execFile(cmd, args, { timeout: 10_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => {
        if (err) this.report(netns, 'list', `conntrack -L failed: ${err.message.split('\n')[0]}`);
        for (const line of stdout.split('\n')) {
          const e = parseConntrackLine(line);
          if (e) this.table.apply(e);
        }
        resolve();
      });
    });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watches) this.halt(w);
  }

  private begin(w: Watch): void {
    this.stream(w, 0);
    void this.list(w.netns);
  }

  /** Stops a stream for good: the next one starts only through begin(). */
  private halt(w: Watch): void {
    clearTimeout(w.retry);
    w.retry = undefined;
    const c = w.child;
    w.child = undefined;
    c?.kill();
  }

  // A conntrack in a namespace holds it: after `ip netns del` it would live on, veths and all, for
  // as long as the collector. So a namespace whose path is gone is let go of, and one made again
  // under the name (another inode) is watched afresh.
  private async follow(): Promise<void> {
    if (this.following) return;
    this.following = true;
    try {
      for (const w of this.watches) {
        if (w.netns === undefined) continue;
        const inode = await netnsIdentity(w.netns);
        if (this.closed) return;
        if (w.looked && inode === w.inode) continue;
        const first = !w.looked;
        w.looked = true;
        this.halt(w);
        w.inode = inode;
        if (inode !== undefined) {
          if (!first) this.report(w.netns, 'stream', 'there: watching it');
          this.begin(w);
        } else {
          this.report(w.netns, 'stream', first ? 'not there: watched once it appears' : 'gone: its conntrack is stopped, so the namespace can be freed; watched again if it appears');
        }
      }
    } finally {
      this.following = false;
    }
  }

  private stream(w: Watch, quickEnds: number): void {
    if (this.closed) return;
    const { netns } = w;
    const started = performance.now();
    const [cmd, args] = command(this.setpriv, netns, ['-E', '-o', 'extended', '-e', 'NEW,DESTROY']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    w.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = parseConntrackLine(line);
      if (e) this.table.apply(e);
    });
    child.on('error', (err) => this.report(netns, 'stream', `cannot run conntrack: ${err.message}`));
    child.on('close', (code) => {
      // Stopped on purpose (closed, namespace gone or replaced): not restarted from here.
      if (this.closed || w.child !== child) return;
      w.child = undefined;
      this.report(netns, 'stream', `conntrack -E ended (${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
      const next = restartAfter(quickEnds, performance.now() - started);
      w.retry = setTimeout(() => {
        w.retry = undefined;
        this.stream(w, next.quickEnds);
      }, next.delayMs);
      w.retry.unref();
    });
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.add(t);
  }

  // Keyed by command too: with one slot per namespace, a listing failing between two stream
  // restarts made the stream's unchanged problem look new and told it again.
  private report(netns: string | undefined, command: 'list' | 'stream', line: string): void {
    const key = `${command} ${netns ?? ''}`;
    if (this.told.get(key) === line) return;
    this.told.set(key, line);
    this.o.log(`nat: ${netns ?? 'own namespace'}: ${line}`);
  }
}
