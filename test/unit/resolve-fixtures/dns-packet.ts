// Builds DNS responses the way servers do (RFC 1035), with name compression, for the parser's
// tests and the test DNS server.
import { isIPv4 } from 'node:net';

export interface RecordSpec {
  name: string;
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'PTR';
  ttl: number;
  data: string;
}

const TYPES = { A: 1, AAAA: 28, CNAME: 5, TXT: 16, PTR: 12 } as const;

function ipv6Bytes(ip: string): number[] {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

export function encodeResponse(opts: { id?: number; question: { name: string; type: 'A' | 'AAAA' | 'PTR' }; answers: RecordSpec[]; compress?: boolean }): Buffer {
  const out: number[] = [];
  const offsets = new Map<string, number>();
  const compress = opts.compress ?? true;
  const u16 = (v: number) => out.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (v: number) => out.push((v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  const name = (n: string) => {
    const labels = n.split('.').filter((l) => l.length > 0);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.');
      const at = offsets.get(suffix);
      if (compress && at !== undefined) {
        u16(0xc000 | at);
        return;
      }
      if (out.length < 0x3fff) offsets.set(suffix, out.length);
      out.push(labels[i]!.length, ...Buffer.from(labels[i]!, 'ascii'));
    }
    out.push(0);
  };
  u16(opts.id ?? 0x1234);
  u16(0x8180); // response, recursion desired and available, NOERROR
  u16(1);
  u16(opts.answers.length);
  u16(0);
  u16(0);
  name(opts.question.name);
  u16(TYPES[opts.question.type]);
  u16(1);
  for (const a of opts.answers) {
    name(a.name);
    u16(TYPES[a.type]);
    u16(1);
    u32(a.ttl);
    const lenAt = out.length;
    u16(0);
    const start = out.length;
    if (a.type === 'A') {
      if (!isIPv4(a.data)) throw new Error(`bad A ${a.data}`);
      out.push(...a.data.split('.').map(Number));
    } else if (a.type === 'AAAA') out.push(...ipv6Bytes(a.data));
    else if (a.type === 'CNAME' || a.type === 'PTR') name(a.data);
    else out.push(a.data.length, ...Buffer.from(a.data));
    const len = out.length - start;
    out[lenAt] = len >> 8;
    out[lenAt + 1] = len & 0xff;
  }
  return Buffer.from(out);
}

/** The question of a DNS query: its id, name and type number. */
export function decodeQuery(buf: Buffer): { id: number; name: string; type: number } | undefined {
  if (buf.length < 12) return undefined;
  const labels: string[] = [];
  let off = 12;
  while (off < buf.length && buf[off] !== 0) {
    const len = buf[off]!;
    labels.push(buf.subarray(off + 1, off + 1 + len).toString('ascii'));
    off += 1 + len;
  }
  if (off + 5 > buf.length) return undefined;
  return { id: buf.readUInt16BE(0), name: labels.join('.'), type: buf.readUInt16BE(off + 1) };
}
