// Addresses as the tables show them. The one place where an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 peer) becomes plain IPv4, so the
// same peer never shows under two names.

export const AF_INET = 2;
export const AF_INET6 = 10;

/** Text form of a kernel address: 4 bytes (AF_INET) or 16 bytes (AF_INET6) from `bytes`. */
export function addressFromBytes(family: number, bytes: Uint8Array): string {
  if (family === AF_INET) return ipv4(bytes, 0);
  if (family !== AF_INET6) throw new Error(`unknown address family ${family}`);
  if (bytes.length < 16) throw new Error(`IPv6 address needs 16 bytes, got ${bytes.length}`);
  if (isV4Mapped(bytes)) return ipv4(bytes, 12);
  return ipv6(bytes);
}

/** Normalises an address given as text: IPv4-mapped IPv6 becomes IPv4; IPv6 is compressed. */
export function normalizeAddress(text: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (m) return m[1]!;
  return text.includes(':') ? text.toLowerCase() : text;
}

export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function ipv4(b: Uint8Array, at: number): string {
  if (b.length < at + 4) throw new Error(`IPv4 address needs 4 bytes at ${at}, got ${b.length}`);
  // Joined, not a template: a flat string, kept for as long as the link that names it.
  return [b[at], b[at + 1], b[at + 2], b[at + 3]].join('.');
}

/** RFC 5952: lower case, longest run (≥ 2) of zero groups as `::`, first one on a tie. */
function ipv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
