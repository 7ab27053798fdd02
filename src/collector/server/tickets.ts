// Tickets let a browser open the socket directly: it gets one through Grafana's proxy (which adds
// the bearer token), then connects with ?ticket=. Each is random, single use, short-lived and only
// good for the Origin it was issued to.
import { randomBytes } from 'node:crypto';

interface Ticket {
  origin: string;
  expiresAt: number;
}

export type Redemption = { ok: true } | { ok: false; message: string };

export class TicketStore {
  private readonly tickets = new Map<string, Ticket>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly now: () => number = Date.now,
    /** Outstanding tickets are capped so a token holder cannot grow memory without bound. */
    private readonly max = 10_000,
  ) {}

  issue(origin: string): { ticket: string; expiresAt: number } {
    this.prune();
    if (this.tickets.size >= this.max) {
      const oldest = this.tickets.keys().next().value;
      if (oldest !== undefined) this.tickets.delete(oldest);
    }
    const ticket = randomBytes(24).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(ticket, { origin, expiresAt });
    return { ticket, expiresAt };
  }

  /** Uses the ticket up, whatever the outcome: a guessed or replayed ticket never works twice. */
  redeem(ticket: string, origin: string | undefined): Redemption {
    const t = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (!t) return { ok: false, message: 'ticket unknown or already used' };
    if (t.expiresAt < this.now()) return { ok: false, message: 'ticket expired' };
    if (origin !== t.origin) return { ok: false, message: `ticket was issued for origin ${t.origin}, not ${origin ?? '(none)'}` };
    return { ok: true };
  }

  size(): number {
    this.prune();
    return this.tickets.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [k, t] of this.tickets) if (t.expiresAt < now) this.tickets.delete(k);
  }
}
