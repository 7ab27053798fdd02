// Translated connection → what the application dialled. Keyed by the connection as the server sees
// it (the reply tuple reversed), which is what the server side's socket reports; entries go when
// conntrack destroys the connection or after a TTL when no event says so. A second index answers
// per backend address, for tables that aggregate connections (a link has no single client port).
import type { ConntrackEntry } from './conntrack-line.js';
import { isDnat } from './conntrack-line.js';

export interface OriginalDestination {
  ip: string;
  port: number;
}

interface Entry extends OriginalDestination {
  backend: string;
  expires: number;
}

export function natKey(protocol: string, clientIp: string, clientPort: number, serverIp: string, serverPort: number): string {
  return `${protocol} ${clientIp}:${clientPort} ${serverIp}:${serverPort}`;
}

const backendKey = (protocol: string, ip: string, port: number) => `${protocol} ${ip}:${port}`;
const destKey = (d: OriginalDestination) => `${d.ip}|${d.port}`;

export class NatTable {
  private readonly entries = new Map<string, Entry>();
  /** backend → original destination → live connections translated that way. */
  private readonly byBackend = new Map<string, Map<string, { dest: OriginalDestination; count: number }>>();

  constructor(
    private readonly ttlMs = 120_000,
    private readonly maxEntries = 262_144,
    private readonly now: () => number = Date.now,
  ) {}

  apply(e: ConntrackEntry): void {
    if (!isDnat(e)) return;
    // The server sees the reply tuple turned around: client = reply.dst, server = reply.src.
    const key = natKey(e.protocol, e.reply.dst, e.reply.dport, e.reply.src, e.reply.sport);
    this.remove(key);
    if (e.event === 'destroy') return;
    const entry: Entry = { ip: e.original.dst, port: e.original.dport, backend: backendKey(e.protocol, e.reply.src, e.reply.sport), expires: this.now() + this.ttlMs };
    this.entries.set(key, entry);
    let dests = this.byBackend.get(entry.backend);
    if (!dests) this.byBackend.set(entry.backend, (dests = new Map()));
    const d = dests.get(destKey(entry));
    if (d) d.count += 1;
    else dests.set(destKey(entry), { dest: { ip: entry.ip, port: entry.port }, count: 1 });
    while (this.entries.size > this.maxEntries) this.remove(this.entries.keys().next().value as string);
  }

  lookup(protocol: string, clientIp: string, clientPort: number, serverIp: string, serverPort: number): OriginalDestination | undefined {
    const key = natKey(protocol, clientIp, clientPort, serverIp, serverPort);
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return { ip: e.ip, port: e.port };
  }

  /** The addresses clients dialled that were translated to this backend, over live connections. */
  originsOf(protocol: string, serverIp: string, serverPort: number): OriginalDestination[] {
    return [...(this.byBackend.get(backendKey(protocol, serverIp, serverPort))?.values() ?? [])].map((d) => ({ ...d.dest }));
  }

  /** Drops expired entries (called on a timer so idle tables shrink). */
  sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.remove(k);
  }

  get size(): number {
    return this.entries.size;
  }

  private remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    const dests = this.byBackend.get(e.backend);
    const d = dests?.get(destKey(e));
    if (!dests || !d) return;
    d.count -= 1;
    if (d.count === 0) dests.delete(destKey(e));
    if (dests.size === 0) this.byBackend.delete(e.backend);
  }
}
