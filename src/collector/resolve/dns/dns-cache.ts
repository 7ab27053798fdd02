// ip → DNS name learned from answers, kept for the record's TTL (with a floor and a ceiling so a
// TTL of 0 still names the connection that follows, and a huge one does not pin stale names).
import type { AddressName } from './dns-message.js';

export interface DnsCacheOptions {
  minTtlSec?: number;
  maxTtlSec?: number;
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  name: string;
  expires: number;
}

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly minTtl: number;
  private readonly maxTtl: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: DnsCacheOptions = {}) {
    this.minTtl = opts.minTtlSec ?? 5;
    this.maxTtl = opts.maxTtlSec ?? 3600;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  add(a: AddressName): void {
    const ttl = Math.min(this.maxTtl, Math.max(this.minTtl, a.ttl));
    this.entries.delete(a.ip);
    this.entries.set(a.ip, { name: a.name, expires: this.now() + ttl * 1000 });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(ip: string): string | undefined {
    const e = this.entries.get(ip);
    if (!e) return undefined;
    if (e.expires <= this.now()) {
      this.entries.delete(ip);
      return undefined;
    }
    return e.name;
  }

  get size(): number {
    return this.entries.size;
  }
}
