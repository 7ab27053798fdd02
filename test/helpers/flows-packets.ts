// Crafted Ethernet frames for BPF_PROG_TEST_RUN of the flow program. Checksums are left zero:
// the program never checks them, and nothing here is sent on a network.
import { parseAddress } from '../../src/collector/tables/flows-address.js';

export interface PacketSpec {
  family: 4 | 6;
  proto: 'tcp' | 'udp' | 'icmp' | number;
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  payload: number;
  /** TCP flags byte (default ACK). */
  tcpFlags?: number;
  /** 802.1Q/802.1AD tags, outermost first: [tpid, vid]. */
  vlans?: [number, number][];
  /** IPv6 extension headers to put before the transport header. */
  ext?: ('hop' | 'dst' | 'routing' | 'fragment')[];
  /** IPv4 fragment offset in 8-byte units (non-first fragments have no transport header). */
  fragmentOffset?: number;
}

const EXT_NUMBER = { hop: 0, routing: 43, fragment: 44, dst: 60 } as const;
const PROTO_NUMBER = { tcp: 6, udp: 17 } as const;

function protoNumber(s: PacketSpec): number {
  if (typeof s.proto === 'number') return s.proto;
  if (s.proto === 'icmp') return s.family === 4 ? 1 : 58;
  return PROTO_NUMBER[s.proto];
}

function transport(s: PacketSpec): Buffer {
  const payload = Buffer.alloc(s.payload, 0x61);
  if (s.fragmentOffset) return payload;
  if (s.proto === 'tcp') {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(s.srcPort ?? 0, 0);
    h.writeUInt16BE(s.dstPort ?? 0, 2);
    h[12] = 5 << 4;
    h[13] = s.tcpFlags ?? 0x10;
    return Buffer.concat([h, payload]);
  }
  if (s.proto === 'udp') {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(s.srcPort ?? 0, 0);
    h.writeUInt16BE(s.dstPort ?? 0, 2);
    h.writeUInt16BE(8 + s.payload, 4);
    return Buffer.concat([h, payload]);
  }
  if (s.proto === 'icmp') {
    const h = Buffer.alloc(8);
    h[0] = s.family === 4 ? 8 : 128; // echo request
    return Buffer.concat([h, payload]);
  }
  return payload;
}

/** Transport and IP header bytes the program should count for one such packet. */
export function headerBytes(s: PacketSpec): number {
  const l4 = s.fragmentOffset ? 0 : s.proto === 'tcp' ? 20 : s.proto === 'udp' || s.proto === 'icmp' ? 8 : 0;
  return (s.family === 4 ? 20 : 40 + 8 * (s.ext?.length ?? 0)) + l4;
}

export function ethFrame(s: PacketSpec): Buffer {
  const l4 = transport(s);
  let l3: Buffer;
  let ethertype: number;
  if (s.family === 4) {
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length, 2);
    ip.writeUInt16BE(s.fragmentOffset ?? 0, 6);
    ip[8] = 64;
    ip[9] = protoNumber(s);
    parseAddress(s.src).copy(ip, 12, 12, 16);
    parseAddress(s.dst).copy(ip, 16, 12, 16);
    l3 = Buffer.concat([ip, l4]);
    ethertype = 0x0800;
  } else {
    const chain = [...(s.ext ?? [])];
    const exts: Buffer[] = chain.map((e, i) => {
      const h = Buffer.alloc(8);
      h[0] = i + 1 < chain.length ? EXT_NUMBER[chain[i + 1]!] : protoNumber(s);
      if (e !== 'fragment') h[1] = 0; // (0 + 1) * 8 = 8 bytes
      if (e === 'routing') h[3] = 0; // segments left 0
      return h;
    });
    const ip = Buffer.alloc(40);
    ip[0] = 0x60;
    const body = Buffer.concat([...exts, l4]);
    ip.writeUInt16BE(body.length, 4);
    ip[6] = chain.length > 0 ? EXT_NUMBER[chain[0]!] : protoNumber(s);
    ip[7] = 64;
    parseAddress(s.src).copy(ip, 8);
    parseAddress(s.dst).copy(ip, 24);
    l3 = Buffer.concat([ip, body]);
    ethertype = 0x86dd;
  }
  const tags = (s.vlans ?? []).map(([, vid], i, all) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(vid, 0);
    t.writeUInt16BE(i + 1 < all.length ? all[i + 1]![0] : ethertype, 2);
    return t;
  });
  const eth = Buffer.alloc(14);
  Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]).copy(eth);
  eth.writeUInt16BE(s.vlans?.length ? s.vlans[0]![0] : ethertype, 12);
  return Buffer.concat([eth, ...tags, l3]);
}

/** A __sk_buff for test runs: only the GSO fields set (gso_segs at 164, gso_size at 176). */
export function skbContext(gso?: { segs: number; size: number }): Buffer {
  const ctx = Buffer.alloc(192);
  if (gso) {
    ctx.writeUInt32LE(gso.segs, 164);
    ctx.writeUInt32LE(gso.size, 176);
  }
  return ctx;
}
