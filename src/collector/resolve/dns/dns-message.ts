// A bounds-checked parser for DNS responses (RFC 1035; AAAA from RFC 3596). It reads only what it
// needs to name addresses: questions and answer records, following compression pointers with a
// hop limit. Malformed input gives { error } and never throws.

export const TYPE_A = 1;
export const TYPE_CNAME = 5;
export const TYPE_AAAA = 28;

export interface DnsRecord {
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: the address; CNAME: the target name; other types: absent. */
  data?: string;
}

export interface DnsResponse {
  id: number;
  rcode: number;
  questions: { name: string; type: number }[];
  answers: DnsRecord[];
}

export type ParseResult = { response: DnsResponse; error?: undefined } | { response?: undefined; error: string };

class Malformed extends Error {}

const MAX_POINTER_HOPS = 32;
const MAX_NAME = 255;

function need(buf: Uint8Array, off: number, len: number): void {
  if (off < 0 || off + len > buf.length) throw new Malformed(`truncated at byte ${off} (need ${len} of ${buf.length})`);
}

function u16(buf: Uint8Array, off: number): number {
  need(buf, off, 2);
  return (buf[off]! << 8) | buf[off + 1]!;
}

function u32(buf: Uint8Array, off: number): number {
  need(buf, off, 4);
  return ((buf[off]! << 24) >>> 0) + (buf[off + 1]! << 16) + (buf[off + 2]! << 8) + buf[off + 3]!;
}

/** Reads a possibly compressed name at `off`; returns it and the offset just after it in place. */
function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let length = 0;
  let next = -1;
  let hops = 0;
  for (;;) {
    need(buf, off, 1);
    const len = buf[off]!;
    if (len === 0) {
      if (next < 0) next = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      const target = u16(buf, off) & 0x3fff;
      if (next < 0) next = off + 2;
      if (++hops > MAX_POINTER_HOPS) throw new Malformed('compression pointer loop');
      off = target;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Malformed(`unsupported label type 0x${len.toString(16)}`);
    need(buf, off + 1, len);
    length += len + 1;
    if (length > MAX_NAME) throw new Malformed('name longer than 255 bytes');
    labels.push(buf.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), next };
}

export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseDnsResponse(input: Uint8Array): ParseResult {
  try {
    // A view, not a copy: Buffer only for its fast latin1 decoding of labels.
    const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    need(buf, 0, 12);
    const id = u16(buf, 0);
    const flags = u16(buf, 2);
    if ((flags & 0x8000) === 0) return { error: 'not a response (QR=0)' };
    const qd = u16(buf, 4);
    const an = u16(buf, 6);
    let off = 12;
    const questions: DnsResponse['questions'] = [];
    for (let i = 0; i < qd; i++) {
      const n = readName(buf, off);
      questions.push({ name: n.name, type: u16(buf, n.next) });
      off = n.next + 4;
    }
    const answers: DnsRecord[] = [];
    for (let i = 0; i < an; i++) {
      const n = readName(buf, off);
      const type = u16(buf, n.next);
      const ttl = u32(buf, n.next + 4);
      const rdlen = u16(buf, n.next + 8);
      const rdata = n.next + 10;
      need(buf, rdata, rdlen);
      const rec: DnsRecord = { name: n.name, type, ttl };
      if (type === TYPE_A) {
        if (rdlen !== 4) throw new Malformed(`A record with ${rdlen} bytes`);
        rec.data = Array.from(buf.subarray(rdata, rdata + 4)).join('.');
      } else if (type === TYPE_AAAA) {
        if (rdlen !== 16) throw new Malformed(`AAAA record with ${rdlen} bytes`);
        rec.data = formatIpv6(buf.subarray(rdata, rdata + 16));
      } else if (type === TYPE_CNAME) {
        rec.data = readName(buf, rdata).name;
      }
      answers.push(rec);
      off = rdata + rdlen;
    }
    return { response: { id, rcode: flags & 0xf, questions, answers } };
  } catch (e) {
    if (e instanceof Malformed) return { error: e.message };
    return { error: `unexpected: ${(e as Error).message}` };
  }
}

export interface AddressName {
  ip: string;
  /** The name that was asked for (the head of any CNAME chain). */
  name: string;
  /** The name that finally held the address, when a CNAME chain led there. */
  canonical?: string;
  /** Seconds: the smallest TTL along the chain. */
  ttl: number;
}

/** Addresses in a response and the names they answer, following CNAME chains back to the question. */
export function addressNames(res: DnsResponse): AddressName[] {
  const aliasOf = new Map<string, { alias: string; ttl: number }>();
  for (const r of res.answers) if (r.type === TYPE_CNAME && r.data) aliasOf.set(r.data, { alias: r.name, ttl: r.ttl });
  const out: AddressName[] = [];
  for (const r of res.answers) {
    if ((r.type !== TYPE_A && r.type !== TYPE_AAAA) || !r.data) continue;
    let name = r.name;
    let ttl = r.ttl;
    const seen = new Set([name]);
    for (let up = aliasOf.get(name); up && !seen.has(up.alias); up = aliasOf.get(name)) {
      name = up.alias;
      ttl = Math.min(ttl, up.ttl);
      seen.add(name);
    }
    const entry: AddressName = { ip: r.data, name, ttl };
    if (name !== r.name) entry.canonical = r.name;
    out.push(entry);
  }
  return out;
}
