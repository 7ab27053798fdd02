import { describe, expect, it } from 'vitest';
import { CLOSE_SIZE, CONN_SIZE, FOLD_SIZE, SERVER_SLOT_SIZE, decodeClose, countFilledSlots, decodeConn, decodeConnSlots, decodeConns, decodeCounters, decodeFolds, decodeServerSlots } from '../../src/collector/kernel/links-records.js';

/** A link_conn laid out as bpf/links.h has it. */
function conn(fill: { sk: bigint; start: bigint; sent: bigint; recv: bigint; family: number; role: number; flags: number; comm: string; saddr: number[]; daddr: number[] }): Buffer {
  const b = Buffer.alloc(CONN_SIZE);
  b.writeBigUInt64LE(fill.sk, 0);
  b.writeBigUInt64LE(fill.start, 8);
  b.writeBigUInt64LE(fill.sent, 16);
  b.writeBigUInt64LE(fill.recv, 24);
  b.writeUInt32LE(4242, 32);
  b.writeUInt32LE(150, 36);
  b.write(fill.comm, 40, 'utf8');
  b.writeUInt16LE(41000, 72);
  b.writeUInt16LE(443, 74);
  b.writeUInt16LE(fill.family, 76);
  b.writeUInt8(fill.role, 78);
  b.writeUInt8(fill.flags, 79);
  b.writeBigUInt64LE(fill.start + 5n, 80);
  b.writeBigUInt64LE(77n, 88);
  b.writeUInt32LE(0xfffffff0, 96);
  b.writeUInt32LE(12, 100);
  b.writeUInt32LE(4026531840, 104);
  b.writeUInt32LE(3, 108);
  Buffer.from(fill.saddr).copy(b, 112);
  Buffer.from(fill.daddr).copy(b, 128);
  b.writeUInt32LE(31337, 144);
  b.writeUInt32LE(4026532000, 148);
  b.writeUInt32LE(2, 152);
  b.write('nginx', 160, 'utf8');
  return b;
}

const v4 = { sk: 0xffff888102e24a00n, start: 123456789n, sent: 6_000_000_000n, recv: 7n, family: 2, role: 1, flags: 0x01 | 0x08 | 0x10, comm: 'curl', saddr: [10, 31, 0, 1], daddr: [10, 31, 0, 2] };

describe('links records', () => {
  it('decodes a connection view', () => {
    const v = decodeConn(conn(v4));
    expect(v).toMatchObject({
      key: 'ffff888102e24a00:123456789',
      startNs: 123456789n,
      lastNs: 123456794n,
      bytesSent: 6_000_000_000,
      bytesReceived: 7,
      cgroupId: 77,
      baseSnd: 0xfffffff0,
      baseRcv: 12,
      pid: 4242,
      netns: 4026531840,
      retransmits: 3,
      srttUs: 150,
      localIp: '10.31.0.1',
      localPort: 41000,
      remoteIp: '10.31.0.2',
      remotePort: 443,
      role: 'client',
      established: true,
      finIn: false,
      peerLocal: false,
      hasBase: true,
      hasPid: true,
      comm: 'curl',
      peerPid: 31337,
      peerNetns: 4026532000,
      peerRetransmits: 2,
      peerComm: 'nginx',
    });
  });

  it('decodes IPv6, IPv4-mapped as IPv4, a server role and a full 16-byte comm', () => {
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 9];
    const six = [0xfd, 0, 0, 31, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const v = decodeConn(conn({ ...v4, family: 10, role: 2, flags: 0x02 | 0x04, comm: 'abcdefghijklmnop', saddr: mapped, daddr: six }));
    expect(v.localIp).toBe('10.0.0.9');
    expect(v.remoteIp).toBe('fd00:1f::2');
    expect(v.role).toBe('server');
    expect(v.finIn && v.peerLocal).toBe(true);
    expect(v.established).toBe(false);
    expect(v.comm).toBe('abcdefghijklmnop');
  });

  it('decodes a close record and a batch of views', () => {
    const b = Buffer.alloc(CLOSE_SIZE);
    conn(v4).copy(b, 0);
    b.writeBigUInt64LE(999n, 176);
    b.writeUInt32LE(5, 184);
    b.writeUInt32LE(20, 188);
    b.writeInt32LE(104, 192);
    b.writeUInt8(9, 196);
    b.writeUInt8(1, 197);
    expect(decodeClose(b)).toMatchObject({ endNs: 999n, endSnd: 5, endRcv: 20, skErr: 104, oldState: 9, sockDone: true });
    const batch = Buffer.concat([conn(v4), conn({ ...v4, start: 1n })]);
    expect(decodeConns(batch, 2).map((v) => v.startNs)).toEqual([123456789n, 1n]);
  });

  it('decodes the filled entry slots only: a free slot (no socket) and a claimed one not filled yet (no start time) are left out', () => {
    // Slots of another stride than CONN_SIZE, as an array map may round its values up.
    const stride = CONN_SIZE + 8;
    const slots = Buffer.alloc(4 * stride, 0xaa);
    conn({ ...v4, sk: 0n }).copy(slots, 0);
    conn({ ...v4, start: 0n }).copy(slots, stride);
    conn(v4).copy(slots, 2 * stride);
    conn({ ...v4, sk: 0xffff888100005000n, start: 9n, role: 2 }).copy(slots, 3 * stride);
    expect(decodeConnSlots(slots, 4, stride).map((v) => [v.key, v.role, v.bytesSent])).toEqual([
      [decodeConn(conn(v4)).key, 'client', 6_000_000_000],
      ['ffff888100005000:9', 'server', 6_000_000_000],
    ]);
    expect(countFilledSlots(slots, 4, stride)).toBe(2);
    expect(() => decodeConnSlots(Buffer.alloc(CONN_SIZE), 2)).toThrow(/need 352 bytes, got 176/);
  });

  it('decodes the claimed server slots: the client view they belong to and the process once known', () => {
    const slots = Buffer.alloc(4 * SERVER_SLOT_SIZE);
    const slot = (i: number, sk: bigint, peerSk: bigint, peerStart: bigint, pid: number, flags: number, comm: string): void => {
      const at = i * SERVER_SLOT_SIZE;
      slots.writeBigUInt64LE(sk, at);
      slots.writeBigUInt64LE(peerSk, at + 8);
      slots.writeBigUInt64LE(peerStart, at + 16);
      slots.writeUInt32LE(pid, at + 24);
      slots.writeUInt32LE(flags, at + 28);
      slots.write(comm, at + 32, 'utf8');
    };
    // 0: free; 1: a server with its process; 2: claimed, client not written yet; 3: no process yet.
    slot(1, 0xffff888100001000n, v4.sk, v4.start, 31337, 0x10, 'nginx');
    slot(2, 0xffff888100002000n, 0n, 0n, 0, 0, '');
    slot(3, 0xffff888100003000n, 0xffff888100004000n, 5n, 77, 0, 'stale');
    const client = decodeConn(conn(v4));
    expect(decodeServerSlots(slots, 4)).toEqual([
      { clientKey: client.key, pid: 31337, comm: 'nginx' },
      { clientKey: 'ffff888100004000:5', pid: 0, comm: '' },
    ]);
    expect(() => decodeServerSlots(Buffer.alloc(SERVER_SLOT_SIZE), 2)).toThrow(/need 128 bytes, got 64/);
  });

  it('refuses short records with a clear error', () => {
    expect(() => decodeConn(Buffer.alloc(100))).toThrow(/needs 176 bytes, got 100/);
    expect(() => decodeClose(Buffer.alloc(176))).toThrow(/needs 200 bytes/);
  });

  it('names the counters by index', () => {
    const keys = Buffer.alloc(16);
    const values = Buffer.alloc(32);
    [0, 1, 2, 3].forEach((k, i) => {
      keys.writeUInt32LE(k, i * 4);
      values.writeBigUInt64LE(BigInt(10 + i), i * 8);
    });
    expect(decodeCounters(keys, values, 4)).toEqual({ ringLost: 10, connMapFull: 11, tupleMapFull: 12, foldMapFull: 13 });
  });

  it('decodes the folds of a batch read: link, process and added-up counts, past 2^32 bytes', () => {
    const values = Buffer.alloc(2 * FOLD_SIZE);
    // Second entry: struct link_fold, its struct link_fold_key first, as bpf/links.h lays them out.
    const k = FOLD_SIZE;
    const v = k + 48;
    values.set([10, 0, 0, 9], 0);
    values.writeUInt16LE(2, 40);
    values.writeBigUInt64LE(1n, 64);
    values.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1], k);
    values.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], k + 16);
    values.writeUInt32LE(4026531840, k + 32);
    values.writeUInt32LE(4242, k + 36);
    values.writeUInt16LE(10, k + 40);
    values.writeUInt16LE(443, k + 42);
    values.writeBigUInt64LE(5n * 2n ** 32n + 7n, v);
    values.writeBigUInt64LE(9n, v + 8);
    values.writeBigUInt64LE(1000n, v + 16);
    values.writeBigUInt64LE(2n, v + 24);
    values.writeBigUInt64LE(3n, v + 32);
    values.writeBigUInt64LE(4n, v + 40);
    values.writeBigUInt64LE(111n, v + 48);
    values.writeBigUInt64LE(222n, v + 56);
    values.writeBigUInt64LE(77n, v + 64);
    values.writeUInt32LE(150, v + 72);
    values.writeUInt32LE(99, v + 76);
    values.writeUInt32LE(4026532000, v + 80);
    values.write('curl', v + 88);
    values.write('nginx', v + 104);
    const folds = decodeFolds(values, 2);
    expect(folds).toHaveLength(2);
    expect(folds[0]).toEqual(expect.objectContaining({ clientIp: '10.0.0.9', closed: 1 }));
    expect(folds[1]).toEqual({
      family: 10,
      clientIp: '10.0.0.1',
      serverIp: 'fd00::2',
      serverPort: 443,
      netns: 4026531840,
      pid: 4242,
      comm: 'curl',
      cgroupId: 77,
      bytesSent: 5 * 2 ** 32 + 7,
      bytesReceived: 9,
      closed: 1000,
      failed: 2,
      retransmits: 3,
      corrections: 4,
      firstNs: 111n,
      lastNs: 222n,
      srttUs: 150,
      peerPid: 99,
      peerNetns: 4026532000,
      peerComm: 'nginx',
    });
    expect(() => decodeFolds(values, 3)).toThrow(/link_fold entries need 504 bytes, got 336/);
  });

  it('adds up the per-CPU copies of a fold: counts summed, earliest start, facts of the latest close that had them', () => {
    // Three CPUs: 0 closed two connections last, 1 none (all zeros), 2 one failed and one closed
    // earlier, and only it knew the server's process.
    const values = Buffer.alloc(3 * FOLD_SIZE);
    const copy = (cpu: number, f: { client?: number; sent: bigint; recv: bigint; closed: bigint; failed: bigint; retr: bigint; first: bigint; last: bigint; srtt: number; peerPid: number; comm: string }): void => {
      const k = cpu * FOLD_SIZE;
      const v = k + 48;
      values.set([10, 0, 0, f.client ?? 1], k);
      values.set([10, 0, 0, 2], k + 16);
      values.writeUInt16LE(2, k + 40);
      values.writeUInt16LE(80, k + 42);
      values.writeBigUInt64LE(f.sent, v);
      values.writeBigUInt64LE(f.recv, v + 8);
      values.writeBigUInt64LE(f.closed, v + 16);
      values.writeBigUInt64LE(f.failed, v + 24);
      values.writeBigUInt64LE(f.retr, v + 32);
      values.writeBigUInt64LE(f.first, v + 48);
      values.writeBigUInt64LE(f.last, v + 56);
      values.writeUInt32LE(f.srtt, v + 72);
      values.writeUInt32LE(f.peerPid, v + 76);
      values.write(f.comm, v + 88);
      if (f.peerPid) values.write('nginx', v + 104);
    };
    copy(0, { sent: 10n, recv: 20n, closed: 2n, failed: 0n, retr: 1n, first: 500n, last: 900n, srtt: 0, peerPid: 0, comm: 'curl' });
    copy(2, { sent: 5n, recv: 6n, closed: 1n, failed: 1n, retr: 2n, first: 300n, last: 700n, srtt: 40, peerPid: 99, comm: 'old' });
    expect(decodeFolds(values, 1, 3)).toEqual([
      expect.objectContaining({ clientIp: '10.0.0.1', serverIp: '10.0.0.2', serverPort: 80, bytesSent: 15, bytesReceived: 26, closed: 3, failed: 1, retransmits: 3, firstNs: 300n, lastNs: 900n, srttUs: 40, peerPid: 99, peerComm: 'nginx', comm: 'curl' }),
    ]);
  });

  it('keeps apart two links whose keys hash alike: each CPU copy of the entry counts its own link', () => {
    const values = Buffer.alloc(2 * FOLD_SIZE);
    for (const cpu of [0, 1]) {
      const k = cpu * FOLD_SIZE;
      values.set([10, 0, 0, 1 + cpu], k);
      values.set([10, 0, 0, 9], k + 16);
      values.writeUInt16LE(2, k + 40);
      values.writeUInt16LE(80, k + 42);
      values.writeBigUInt64LE(BigInt(100 * (cpu + 1)), k + 48);
      values.writeBigUInt64LE(1n, k + 64);
      values.writeBigUInt64LE(5n, k + 96);
    }
    expect(decodeFolds(values, 1, 2)).toEqual([
      expect.objectContaining({ clientIp: '10.0.0.1', serverIp: '10.0.0.9', bytesSent: 100, closed: 1 }),
      expect.objectContaining({ clientIp: '10.0.0.2', serverIp: '10.0.0.9', bytesSent: 200, closed: 1 }),
    ]);
  });
});
