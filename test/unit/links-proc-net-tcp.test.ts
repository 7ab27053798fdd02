import { describe, expect, it } from 'vitest';
import { parseProcNetTcp, TCP_LISTEN } from '../../src/collector/sockets/proc-net-tcp.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';

describe('parseProcNetTcp', () => {
  it('reads IPv4 sockets (words in host order, little-endian)', () => {
    const text =
      HEADER +
      '   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1600 1 0000000000000000 100 0 0 10 0\n' +
      '   1: 01001F0A:A410 02001F0A:0050 01 00000000:00000000 00:00000000 00000000     0        0 1700 1 0000000000000000 20 4 30 10 -1\n';
    expect(parseProcNetTcp(text, 4)).toEqual([
      { localIp: '0.0.0.0', localPort: 8080, remoteIp: '0.0.0.0', remotePort: 0, state: TCP_LISTEN, inode: 1600 },
      { localIp: '10.31.0.1', localPort: 42000, remoteIp: '10.31.0.2', remotePort: 80, state: 1, inode: 1700 },
    ]);
  });

  it('reads IPv6 sockets, IPv4-mapped ones as IPv4', () => {
    const text =
      HEADER +
      '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n' +
      '   1: 1F0000FD000000000000000002000000:0050 0000000000000000FFFF00000100000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n';
    const [listen, conn] = parseProcNetTcp(text, 6);
    expect(listen).toMatchObject({ localIp: '::', localPort: 8080, state: TCP_LISTEN });
    expect(conn).toMatchObject({ localIp: 'fd00:1f::2', localPort: 80, remoteIp: '10.0.0.1', remotePort: 50000 });
  });

  it('names a malformed line instead of returning a wrong entry', () => {
    expect(() => parseProcNetTcp(HEADER + '   0: nonsense 00000000:0000 0A 0 0 0 0 0 1\n', 4)).toThrow(/line 1: bad address "nonsense"/);
    expect(() => parseProcNetTcp(HEADER + '   0: 00000000:1F90 00000000:0000 ZZ 0 0 0 0 0 x\n', 4)).toThrow(/line 1: bad state or inode/);
  });
});
