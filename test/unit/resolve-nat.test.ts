import { describe, expect, it } from 'vitest';
import { parseConntrackLine, isDnat } from '../../src/collector/resolve/nat/conntrack-line.js';
import { NatTable } from '../../src/collector/resolve/nat/nat-table.js';
import { FIRST_DELAY_MS, HEALTHY_RUN_MS, MAX_DELAY_MS, restartAfter } from '../../src/collector/resolve/nat/restart-backoff.js';

// As printed by conntrack-tools 1.4.7 (Debian bookworm).
const LISTED = 'ipv4     2 tcp      6 431999 ESTABLISHED src=10.71.1.1 dst=10.71.9.9 sport=41000 dport=80 src=10.71.2.2 dst=10.71.1.1 sport=8080 dport=41000 [ASSURED] mark=0 use=1';
const NEW = '    [NEW] ipv4     2 tcp      6 120 SYN_SENT src=10.71.1.1 dst=10.71.9.9 sport=41002 dport=80 [UNREPLIED] src=10.71.2.2 dst=10.71.1.1 sport=8080 dport=41002';
const DESTROY = ' [DESTROY] ipv4     2 tcp      6 src=10.71.1.1 dst=10.71.9.9 sport=41002 dport=80 src=10.71.2.2 dst=10.71.1.1 sport=8080 dport=41002 [ASSURED]';
const PLAIN = 'ipv6     10 udp      17 25 src=fd00:71::1 dst=fd00:71::2 sport=5353 dport=53 src=fd00:71::2 dst=fd00:71::1 sport=53 dport=5353 mark=0 use=1';

describe('conntrack lines', () => {
  it('reads original and reply tuples of listings and events', () => {
    expect(parseConntrackLine(LISTED)).toEqual({
      protocol: 'tcp',
      original: { src: '10.71.1.1', dst: '10.71.9.9', sport: 41000, dport: 80 },
      reply: { src: '10.71.2.2', dst: '10.71.1.1', sport: 8080, dport: 41000 },
    });
    expect(parseConntrackLine(NEW)?.event).toBe('new');
    expect(parseConntrackLine(DESTROY)?.event).toBe('destroy');
    expect(parseConntrackLine(PLAIN)?.protocol).toBe('udp');
    expect(isDnat(parseConntrackLine(LISTED)!)).toBe(true);
    expect(isDnat(parseConntrackLine(PLAIN)!)).toBe(false);
  });

  it('gives undefined for what it cannot read', () => {
    expect(parseConntrackLine('')).toBeUndefined();
    expect(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.')).toBeUndefined();
    expect(parseConntrackLine('ipv4 2 icmp 1 29 src=10.71.0.1 dst=10.71.0.2 type=8 code=0 id=1 src=10.71.0.2 dst=10.71.0.1 type=0 code=0 id=1')).toBeUndefined();
    expect(parseConntrackLine('ipv4 2 tcp 6 src=10.71.0.1 dst=10.71.0.2 sport=x dport=80 src=10.71.0.2 dst=10.71.0.1 sport=80 dport=1')).toBeUndefined();
  });
});

describe('NAT table', () => {
  it('maps the connection the server sees back to what the client dialled', () => {
    const t = new NatTable();
    t.apply(parseConntrackLine(LISTED)!);
    expect(t.lookup('tcp', '10.71.1.1', 41000, '10.71.2.2', 8080)).toEqual({ ip: '10.71.9.9', port: 80 });
    expect(t.lookup('udp', '10.71.1.1', 41000, '10.71.2.2', 8080)).toBeUndefined();
    expect(t.lookup('tcp', '10.71.1.1', 41001, '10.71.2.2', 8080)).toBeUndefined();
  });

  it('ignores untranslated connections and forgets destroyed ones', () => {
    const t = new NatTable();
    t.apply(parseConntrackLine(PLAIN)!);
    expect(t.size).toBe(0);
    t.apply(parseConntrackLine(NEW)!);
    expect(t.lookup('tcp', '10.71.1.1', 41002, '10.71.2.2', 8080)).toEqual({ ip: '10.71.9.9', port: 80 });
    t.apply(parseConntrackLine(DESTROY)!);
    expect(t.lookup('tcp', '10.71.1.1', 41002, '10.71.2.2', 8080)).toBeUndefined();
  });

  it('handles SNAT too: the key is the client address the server sees', () => {
    const t = new NatTable();
    t.apply(parseConntrackLine('ipv4 2 tcp 6 100 ESTABLISHED src=10.71.1.1 dst=10.71.9.9 sport=5000 dport=80 src=10.71.2.2 dst=10.71.2.1 sport=8080 dport=6000')!);
    expect(t.lookup('tcp', '10.71.2.1', 6000, '10.71.2.2', 8080)).toEqual({ ip: '10.71.9.9', port: 80 });
  });

  it('expires entries after the TTL and stays bounded', () => {
    let now = 0;
    const t = new NatTable(1000, 2, () => now);
    t.apply(parseConntrackLine(LISTED)!);
    now = 999;
    expect(t.lookup('tcp', '10.71.1.1', 41000, '10.71.2.2', 8080)).toBeDefined();
    now = 1000;
    expect(t.lookup('tcp', '10.71.1.1', 41000, '10.71.2.2', 8080)).toBeUndefined();
    for (let p = 1; p <= 5; p++) t.apply(parseConntrackLine(LISTED.replace(/41000/g, String(p)))!);
    expect(t.size).toBe(2);
    now = 5000;
    t.sweep();
    expect(t.size).toBe(0);
  });

  it('answers per backend with the VIPs its live connections were dialled as', () => {
    let now = 0;
    const t = new NatTable(1000, 100, () => now);
    expect(t.originsOf('tcp', '10.71.2.2', 8080)).toEqual([]);
    t.apply(parseConntrackLine(LISTED)!);
    t.apply(parseConntrackLine(NEW)!);
    t.apply(parseConntrackLine(LISTED)!); // the same connection listed again counts once
    expect(t.originsOf('tcp', '10.71.2.2', 8080)).toEqual([{ ip: '10.71.9.9', port: 80 }]);
    expect(t.originsOf('udp', '10.71.2.2', 8080)).toEqual([]);
    t.apply(parseConntrackLine(DESTROY)!);
    expect(t.originsOf('tcp', '10.71.2.2', 8080)).toHaveLength(1); // 41000 is still open
    now = 1000;
    t.sweep();
    expect(t.originsOf('tcp', '10.71.2.2', 8080)).toEqual([]);
  });
});

describe('conntrack stream restarts', () => {
  it('double the wait for quick ends in a row, up to the longest', () => {
    const delays: number[] = [];
    let quickEnds = 0;
    for (let i = 0; i < 9; i++) {
      const r = restartAfter(quickEnds, 10);
      delays.push(r.delayMs);
      quickEnds = r.quickEnds;
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, MAX_DELAY_MS, MAX_DELAY_MS, MAX_DELAY_MS]);
  });

  it('start again from the shortest wait after a healthy run', () => {
    const after = restartAfter(8, HEALTHY_RUN_MS);
    expect(after).toEqual({ delayMs: FIRST_DELAY_MS, quickEnds: 1 });
    expect(restartAfter(after.quickEnds, 10).delayMs).toBe(2 * FIRST_DELAY_MS);
    expect(restartAfter(8, HEALTHY_RUN_MS - 1).delayMs).toBe(MAX_DELAY_MS);
  });
});
