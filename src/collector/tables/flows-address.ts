// 16-byte addresses as the flow program stores them (IPv4 as IPv4-mapped IPv6) to display strings.

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** `10.0.0.1` for an IPv4-mapped address, else the RFC 5952 form of the IPv6 address. */
export function formatAddress(b: Uint8Array): string {
  if (b.length !== 16) throw new Error(`an address is 16 bytes, got ${b.length}`);
  if (V4_MAPPED_PREFIX.every((v, i) => b[i] === v)) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of two or more zero words becomes `::` (the first such run on a tie).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j += 1;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** The inverse, for tests and filters: a dotted IPv4 or an IPv6 string to 16 bytes. */
export function parseAddress(s: string): Buffer {
  const out = Buffer.alloc(16);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    out[10] = 0xff;
    out[11] = 0xff;
    for (let i = 0; i < 4; i += 1) {
      const n = Number(v4[i + 1]);
      if (n > 255) throw new Error(`not an IPv4 address: ${s}`);
      out[12 + i] = n;
    }
    return out;
  }
  const halves = s.split('::');
  if (halves.length > 2 || !/^[0-9a-fA-F:]+$/.test(s)) throw new Error(`not an IP address: ${s}`);
  const part = (p: string): number[] => (p === '' ? [] : p.split(':').map((w) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw new Error(`not an IPv6 address: ${s}`);
    return parseInt(w, 16);
  }));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) throw new Error(`not an IPv6 address: ${s}`);
  [...head, ...new Array<number>(fill).fill(0), ...tail].forEach((w, i) => out.writeUInt16BE(w, i * 2));
  return out;
}
