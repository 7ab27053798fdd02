// Keeps the set of interfaces matching an InterfaceSpec current: lists them at start and then every
// interval (1 s by default, so a new match is attached within 2 s), and reports what came and went.
import { closeness } from './closeness.js';
import { defaultRouteInterfaces, listInterfaces, type InterfaceInfo } from './list.js';
import { matchesPattern, type InterfaceSpec } from './spec.js';

export interface WatchedInterface extends InterfaceInfo {
  /** See ./closeness.ts. */
  closeness: number;
}

export interface InterfaceWatcherOptions {
  spec: InterfaceSpec;
  intervalMs?: number;
  onAdded(i: WatchedInterface): void;
  onRemoved(i: WatchedInterface): void;
  /** A scan that failed (e.g. a named netns not there yet); the watcher keeps going. */
  onError?(e: Error): void;
}

export const interfaceKey = (netnsInode: number, ifindex: number): string => `${netnsInode}:${ifindex}`;
const identity = (i: InterfaceInfo): string => `${interfaceKey(i.netnsInode, i.ifindex)}:${i.name}`;

export class InterfaceWatcher {
  private readonly current = new Map<string, WatchedInterface>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: InterfaceWatcherOptions) {}

  /** The first scan, awaited, then polling. */
  async start(): Promise<void> {
    await this.scan();
    if (this.closed) return;
    this.timer = setInterval(() => {
      // A rejection here would be unhandled and end the collector: report it and poll again.
      if (!this.scanning) this.scanning = this.scan().catch((e: unknown) => this.opts.onError?.(e instanceof Error ? e : new Error(String(e)))).finally(() => (this.scanning = undefined));
    }, this.opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  interfaces(): WatchedInterface[] {
    return [...this.current.values()];
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
  }

  /** One pass: what matches now, against what matched before. */
  async scan(): Promise<void> {
    const found = await this.matching();
    if (this.closed) return;
    for (const [id, i] of this.current) {
      if (!found.has(id)) {
        this.current.delete(id);
        this.opts.onRemoved(i);
      }
    }
    for (const [id, i] of found) {
      if (!this.current.has(id)) {
        this.current.set(id, i);
        this.opts.onAdded(i);
      }
    }
  }

  private async matching(): Promise<Map<string, WatchedInterface>> {
    const { spec } = this.opts;
    const found = new Map<string, WatchedInterface>();
    let uplinks: Set<string>;
    try {
      uplinks = new Set(await defaultRouteInterfaces());
    } catch (e) {
      this.opts.onError?.(e as Error);
      uplinks = new Set();
    }
    const patterns = spec.defaultRoute ? [...uplinks].map((pattern) => ({ pattern, netns: undefined })) : spec.patterns;
    const byNetns = new Map<string | undefined, string[]>();
    for (const p of patterns) byNetns.set(p.netns, [...(byNetns.get(p.netns) ?? []), p.pattern]);
    for (const [netns, pats] of byNetns) {
      let all: InterfaceInfo[];
      try {
        all = await listInterfaces(netns);
      } catch (e) {
        // A named netns that is gone (or not there yet) has no interfaces: its ones are removed.
        this.opts.onError?.(new Error(`interfaces: cannot list ${netns ? `netns ${netns}` : 'interfaces'}: ${(e as Error).message.split('\n')[0]}`));
        continue;
      }
      for (const i of all) {
        // lo only when named: a wildcard meant the interfaces traffic crosses, not loopback.
        if (i.name === 'lo' ? !pats.includes('lo') : !pats.some((p) => matchesPattern(i.name, p))) continue;
        found.set(identity(i), { ...i, closeness: closeness(i, uplinks) });
      }
    }
    return found;
  }
}
