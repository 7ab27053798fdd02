// Text addresses to the 16 bytes the flow program keys on (IPv4 as IPv4-mapped IPv6). The other way
// is ./address.ts (addressFromBytes), shared with the links table.

/** A dotted IPv4 or an IPv6 string to 16 bytes, for keys built in userspace (tests, lookups). */
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
