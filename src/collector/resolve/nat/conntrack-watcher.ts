// Feeds a NatTable from Debian's `conntrack` tool, per network namespace: `conntrack -E` streams
// new and destroyed connections as they happen, and `conntrack -L` lists the table at start and
// then now and then, so entries of long connections stay and missed events heal.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseConntrackLine } from './conntrack-line.js';
import { dieWithParent, findSetpriv } from './die-with-parent.js';
import { NatTable } from './nat-table.js';
import { restartAfter } from './restart-backoff.js';

export interface ConntrackWatcherOptions {
  /** Network namespaces to watch, as paths (/run/netns/NAME, /proc/PID/ns/net); undefined = our own. */
  netns?: (string | undefined)[];
  /** How often the whole table is listed again. */
  resyncMs?: number;
  /** Entries not confirmed by an event or a listing for this long are dropped. */
  ttlMs?: number;
  log?: (line: string) => void;
}

function command(setpriv: string | undefined, netns: string | undefined, args: string[]): [string, string[]] {
  return netns ? dieWithParent(setpriv, 'nsenter', [`--net=${netns}`, 'conntrack', ...args]) : dieWithParent(setpriv, 'conntrack', args);
}

export class ConntrackWatcher {
  readonly table: NatTable;
  private readonly children = new Set<ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  private readonly o: Required<ConntrackWatcherOptions>;
  /** Per namespace and command (listing, stream), the last problem told: the same one is not told again. */
  private readonly told = new Map<string, string>();
  private readonly setpriv = findSetpriv();

  constructor(opts: ConntrackWatcherOptions = {}) {
    this.o = { netns: [undefined], resyncMs: 30_000, ttlMs: 120_000, log: () => {}, ...opts };
    this.table = new NatTable(Math.max(this.o.ttlMs, this.o.resyncMs * 2));
  }

  start(): void {
    if (!this.setpriv) this.o.log('nat: setpriv (util-linux) not found: the conntrack processes will outlive this collector if it is killed or crashes, and keep the namespaces they watch; install util-linux');
    for (const ns of this.o.netns) {
      this.stream(ns, 0);
      void this.list(ns);
      this.every(this.o.resyncMs, () => void this.list(ns));
    }
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
    for (const c of this.children) c.kill();
    this.children.clear();
  }

  private stream(netns: string | undefined, quickEnds: number): void {
    if (this.closed) return;
    const started = performance.now();
    const [cmd, args] = command(this.setpriv, netns, ['-E', '-o', 'extended', '-e', 'NEW,DESTROY']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-500)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = parseConntrackLine(line);
      if (e) this.table.apply(e);
    });
    child.on('error', (err) => this.report(netns, 'stream', `cannot run conntrack: ${err.message}`));
    child.on('close', (code) => {
      this.children.delete(child);
      if (this.closed) return;
      this.report(netns, 'stream', `conntrack -E ended (${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
      const next = restartAfter(quickEnds, performance.now() - started);
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.stream(netns, next.quickEnds);
      }, next.delayMs);
      t.unref();
      this.timers.add(t);
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
