// An Ethernet frame carrying a DNS payload over UDP (or TCP) from port 53, IPv4 or IPv6, for
// running dns.bpf.c on with BPF_PROG_TEST_RUN.
export interface Frame {
  family?: 4 | 6;
  proto?: 'udp' | 'tcp';
  sport?: number;
  payload: Buffer;
  /** Overrides the UDP length field. */
  udpLen?: number;
  /** IPv4 flags+fragment offset field. */
  frag?: number;
}

export function frame(f: Frame): Buffer {
  const family = f.family ?? 4;
  const l4 = Buffer.alloc(f.proto === 'tcp' ? 20 : 8);
  l4.writeUInt16BE(f.sport ?? 53, 0);
  l4.writeUInt16BE(40000, 2);
  if (f.proto === 'tcp') l4[12] = 5 << 4;
  else l4.writeUInt16BE(f.udpLen ?? 8 + f.payload.length, 4);
  const body = Buffer.concat([l4, f.payload]);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(family === 4 ? 0x0800 : 0x86dd, 12);
  let ip: Buffer;
  if (family === 4) {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + body.length, 2);
    ip.writeUInt16BE(f.frag ?? 0, 6);
    ip[8] = 64;
    ip[9] = f.proto === 'tcp' ? 6 : 17;
    Buffer.from([10, 78, 0, 2]).copy(ip, 12);
    Buffer.from([10, 78, 0, 1]).copy(ip, 16);
  } else {
    ip = Buffer.alloc(40);
    ip[0] = 0x60;
    ip.writeUInt16BE(body.length, 4);
    ip[6] = f.proto === 'tcp' ? 6 : 17;
    ip[7] = 64;
    Buffer.from('fd000078000000000000000000000002', 'hex').copy(ip, 8);
    Buffer.from('fd000078000000000000000000000001', 'hex').copy(ip, 24);
  }
  return Buffer.concat([eth, ip, body]);
}
