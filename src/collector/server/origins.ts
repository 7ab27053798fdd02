// Browsers send Origin on WebSocket upgrades; anything else (Grafana's proxy strips it, the CLI
// never sets it) sends none. A present Origin must be on the allowlist.
export class OriginPolicy {
  private readonly exact: Set<string>;
  private readonly any: boolean;

  constructor(allowed: string[]) {
    this.any = allowed.includes('*');
    this.exact = new Set(allowed.filter((o) => o !== '*').map(normalise));
  }

  allows(origin: string): boolean {
    return this.any || this.exact.has(normalise(origin));
  }

  list(): string[] {
    return this.any ? ['*'] : [...this.exact];
  }
}

function normalise(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
