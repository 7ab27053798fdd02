// Translated connection → what the application dialled. Keyed by the connection as the server sees
// it (the reply tuple reversed), which is what the server side's socket reports; entries go when
// conntrack destroys the connection or after a TTL when no event says so.
import type { ConntrackEntry } from './conntrack-line.js';
import { isDnat } from './conntrack-line.js';

export interface OriginalDestination {
  ip: string;
  port: number;
}

interface Entry extends OriginalDestination {
  expires: number;
}

export function natKey(protocol: string, clientIp: string, clientPort: number, serverIp: string, serverPort: number): string {
  return `${protocol} ${clientIp}:${clientPort} ${serverIp}:${serverPort}`;
}

export class NatTable {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 120_000,
    private readonly maxEntries = 262_144,
    private readonly now: () => number = Date.now,
  ) {}

  apply(e: ConntrackEntry): void {
    if (!isDnat(e)) return;
    // The server sees the reply tuple turned around: client = reply.dst, server = reply.src.
    const key = natKey(e.protocol, e.reply.dst, e.reply.dport, e.reply.src, e.reply.sport);
    if (e.event === 'destroy') {
      this.entries.delete(key);
      return;
    }
    this.entries.delete(key);
    this.entries.set(key, { ip: e.original.dst, port: e.original.dport, expires: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  lookup(protocol: string, clientIp: string, clientPort: number, serverIp: string, serverPort: number): OriginalDestination | undefined {
    const key = natKey(protocol, clientIp, clientPort, serverIp, serverPort);
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return { ip: e.ip, port: e.port };
  }

  /** Drops expired entries (called on a timer so idle tables shrink). */
  sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
