import { describe, expect, it } from 'vitest';
import type { LinkRecord } from '../../src/protocol/index.js';
import { CombinedLinks, changeBetween, mergeLinks, withNat, type NatOrigins } from '../../src/collector/tables/combined-links.js';
import { MemoryTable } from '../../src/collector/tables/memory-table.js';
import type { ChangeKind } from '../../src/collector/tables/types.js';
import { parsePortRange, udpListenersOf } from '../../src/collector/sockets/udp-listeners.js';
import { parseProcNetTcp } from '../../src/collector/sockets/proc-net-tcp.js';

function link(id: string, client: string, server: string, port: number, over: Partial<LinkRecord> = {}): LinkRecord {
  return {
    id, client: { ip: client }, server: { ip: server, port }, protocol: 'tcp', bytesSent: 10, bytesReceived: 20, sendRate: 0, receiveRate: 0,
    connections: { active: 1, closed: 0, failed: 0 }, retransmits: 0, firstSeen: 1, lastSeen: 2, ...over,
  };
}

const udp = (client: string, server: string, port: number, bytes = 5): LinkRecord =>
  link(`udp:${client}>${server}:${port}`, client, server, port, { protocol: 'udp', bytesSent: bytes });

/** One backend 10.81.0.2:8081 dialled as the VIP 10.81.9.9:80. */
const nat: NatOrigins = (ip, port, protocol) => (ip === '10.81.0.2' && port === 8081 && protocol === 'tcp' ? [{ ip: '10.81.9.9', port: 80 }] : []);

describe('combined links: TCP and UDP in one table', () => {
  it('merges in id order', () => {
    const merged = mergeLinks([link('b', '10.81.0.1', '10.81.0.2', 1), link('z', '10.81.0.1', '10.81.0.2', 2)], [udp('10.81.0.1', '10.81.0.2', 53)]);
    expect(merged.map((l) => l.id)).toEqual(['b', 'udp:10.81.0.1>10.81.0.2:53', 'z']);
  });

  it('tells topology from figures, and nothing when nothing moved', () => {
    const a = [udp('10.81.0.1', '10.81.0.2', 53, 5)];
    expect(changeBetween(a, [udp('10.81.0.1', '10.81.0.2', 53, 5)])).toBeUndefined();
    expect(changeBetween(a, [udp('10.81.0.1', '10.81.0.2', 53, 6)])).toBe('figures');
    expect(changeBetween(a, [udp('10.81.0.1', '10.81.0.2', 54, 5)])).toBe('topology');
    expect(changeBetween(a, [])).toBe('topology');
  });

  it('forwards TCP changes as they are and UDP changes as what moved', () => {
    const tcp = new MemoryTable<LinkRecord>([link('t1', '10.81.0.1', '10.81.0.2', 22)]);
    const flows = new MemoryTable<{ id: string }>();
    let udpNow: LinkRecord[] = [];
    const table = new CombinedLinks({ tcp, udp: () => udpNow, udpChanged: (l) => flows.onChange(l) });
    const seen: ChangeKind[] = [];
    table.onChange((k) => seen.push(k));

    tcp.upsert([link('t1', '10.81.0.1', '10.81.0.2', 22, { bytesSent: 99 })]);
    udpNow = [udp('10.81.0.1', '10.81.0.3', 53, 5)];
    flows.upsert([{ id: 'f1' }]);
    udpNow = [udp('10.81.0.1', '10.81.0.3', 53, 7)];
    flows.upsert([{ id: 'f1' }]);
    flows.upsert([{ id: 'f1' }]); // drained, but the UDP links did not move: nothing to tell
    expect(seen).toEqual(['figures', 'topology', 'figures']);
    expect(table.records().map((l) => [l.id, l.bytesSent])).toEqual([['t1', 99], ['udp:10.81.0.1>10.81.0.3:53', 7]]);
    expect(table.size()).toBe(2);

    table.close();
    tcp.upsert([link('t2', '10.81.0.1', '10.81.0.2', 23)]);
    expect(seen).toHaveLength(3);
  });
});

describe('combined links: NAT', () => {
  it('puts the VIP in details of the backend link and folds the client-side link to the VIP into it', () => {
    const backend = link('backend', '10.81.0.1', '10.81.0.2', 8081, { connections: { active: 2, closed: 3, failed: 0 } });
    const toVip = link('to-vip', '10.81.0.1', '10.81.9.9', 80, { client: { ip: '10.81.0.1', pid: 42, process: 'curl', kind: 'process', name: 'curl' }, connections: { active: 2, closed: 3, failed: 1 } });
    const other = link('other', '10.81.0.5', '10.81.9.9', 80); // another client, its backend not seen here
    const out = withNat([backend, other, toVip], nat);
    expect(out.map((l) => l.id)).toEqual(['backend', 'other']);
    expect(out[0]).toMatchObject({
      server: { ip: '10.81.0.2', port: 8081 },
      client: { ip: '10.81.0.1', pid: 42, process: 'curl', name: 'curl' },
      connections: { active: 2, closed: 3, failed: 1 },
      details: { vip: '10.81.9.9:80' },
      bytesSent: 10,
    });
    expect(out[1]!.details).toBeUndefined();
  });

  it('leaves links alone when conntrack knows nothing, and keeps other details', () => {
    const plain = [link('a', '10.81.0.1', '10.81.0.2', 22, { details: { note: 'x' } })];
    expect(withNat(plain, () => [])).toEqual(plain);
    const v6: NatOrigins = () => [{ ip: 'fd00:81::9', port: 443 }, { ip: '10.81.9.8', port: 443 }];
    expect(withNat(plain, v6)[0]!.details).toEqual({ note: 'x', vip: '10.81.9.8:443, [fd00:81::9]:443' });
  });

  it('walks the records it hands out, NAT undone and UDP merged', () => {
    const tcp = new MemoryTable<LinkRecord>([
      link('backend', '10.81.0.1', '10.81.0.2', 8081),
      link('other', '10.81.0.5', '10.81.9.9', 80),
      link('to-vip', '10.81.0.1', '10.81.9.9', 80, { connections: { active: 0, closed: 0, failed: 2 } }),
    ]);
    const udpNow = [udp('10.81.0.1', '10.81.0.3', 53)];
    for (const natOrigins of [nat, undefined]) {
      const table = new CombinedLinks({ tcp, udp: () => udpNow, ...(natOrigins ? { natOrigins } : {}) });
      const w = table.walk();
      const walked = Array.from({ length: w.size }, (_, i) => w.at(i));
      expect(walked).toEqual(table.records());
      expect(Array.from({ length: w.size }, (_, i) => w.id(i))).toEqual(table.records().map((l) => l.id));
      table.close();
    }
    expect(new CombinedLinks({ tcp, natOrigins: nat }).records().map((l) => [l.id, l.connections.failed])).toEqual([['backend', 2], ['other', 0]]);
  });

  it('announces a VIP learned after the link as a topology change, once', () => {
    const tcp = new MemoryTable<LinkRecord>([link('backend', '10.81.0.1', '10.81.0.2', 8081)]);
    let known = false;
    const table = new CombinedLinks({ tcp, natOrigins: (ip, port, p) => (known ? nat(ip, port, p) : []) });
    const seen: ChangeKind[] = [];
    table.onChange((k) => seen.push(k));
    table.refreshNat();
    expect(seen).toEqual([]);
    known = true;
    table.refreshNat();
    table.refreshNat();
    expect(seen).toEqual(['topology']);
    expect(table.records()[0]!.details).toEqual({ vip: '10.81.9.9:80' });
  });
});

describe('UDP listeners from /proc/net/udp', () => {
  const udpFile = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
    // 10.81.0.2:53 unconnected: a server
    '  1: 0200510A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1001 2 0000000000000000 0',
    // 0.0.0.0:5000 unconnected: a server on every address
    '  2: 00000000:1388 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 0',
    // 10.81.0.1:40000 connected to 10.81.0.2:53: a client
    '  3: 0100510A:9C40 0200510A:0035 01 00000000:00000000 00:00000000 00000000     0        0 1003 2 0000000000000000 0',
    // 0.0.0.0:45000 unconnected, in the ephemeral range: a sender without connect()
    '  4: 00000000:AFC8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1004 2 0000000000000000 0',
  ].join('\n');

  it('keeps unconnected sockets on ports outside the ephemeral range', () => {
    const sockets = parseProcNetTcp(udpFile, 4);
    expect(udpListenersOf(sockets, parsePortRange('32768\t60999\n'))).toEqual([
      { ip: '10.81.0.2', port: 53 },
      { ip: '0.0.0.0', port: 5000 },
    ]);
  });

  it('says what is wrong with a bad port range', () => {
    expect(() => parsePortRange('many')).toThrow(/ip_local_port_range: "many"/);
  });
});
