// Real traffic between two test hosts: the flow table must match it exactly on each interface and
// in each direction (UDP packets and bytes; TCP payload bytes, with GSO/TSO on).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/protocol/index.js';
import { startFlowCollector, type FlowCollector } from '../../src/collector/flow-collector.js';
import { enableStats, type StatsHandle } from '../../src/collector/kernel/index.js';
import { createWire, destroyAll, retransmittedSegments, type Wire } from '../helpers/netns.js';
import { describePrivileged } from '../helpers/privileged.js';
import { tcpTransfer, udpExchange } from '../helpers/flows-traffic.js';

/** Segments TCP retransmitted in a namespace so far (its own /proc/net/snmp). */
describePrivileged('flows from real traffic between test hosts', () => {
  let wire: Wire;
  let collector: FlowCollector;
  let stats: StatsHandle | undefined;

  beforeAll(async () => {
    wire = createWire(41);
    collector = await startFlowCollector({ interfaces: `${wire.a.ns}:${wire.aIf},${wire.b.ns}:${wire.bIf}`, activeTimeoutMs: 500 });
  });

  afterAll(async () => {
    stats?.close();
    await collector?.close();
    destroyAll();
  });

  const find = (pred: (f: FlowRecord) => boolean): FlowRecord[] => collector.records().filter(pred);

  it('attaches to both ends of the wire', () => {
    const h = collector.health();
    expect(h.interfaces.map((i) => `${i.netns}:${i.name}`).sort()).toEqual([`${wire.a.ns}:${wire.aIf}`, `${wire.b.ns}:${wire.bIf}`].sort());
    expect(h.attachErrors).toBe(0);
  });

  for (const family of [4, 6] as const) {
    it(`counts N UDP datagrams over IPv${family} exactly, egress on the sender and ingress on the receiver`, async () => {
      const count = 50;
      const size = 700;
      const [src, dst] = family === 4 ? [wire.aIp, wire.bIp] : [wire.aIp6, wire.bIp6];
      const srcPort = 41000 + family;
      expect(await udpExchange(wire.a, wire.b, dst, 4100 + family, count, size, srcPort)).toBe(count);
      collector.drainNow();
      const copies = find((f) => f.protocol === 'udp' && f.src === src && f.srcPort === srcPort && f.dst === dst);
      expect(copies.map((f) => `${f.interface}:${f.direction}`).sort()).toEqual([`${wire.aIf}:egress`, `${wire.bIf}:ingress`].sort());
      const ipHeader = family === 4 ? 20 : 40;
      for (const f of copies) {
        expect(f).toMatchObject({ packets: count, payloadBytes: count * size, bytes: count * (size + 8 + ipHeader) });
      }
      // The same datagrams on both ends of one wire: counted once.
      expect(copies.filter((f) => !f.duplicate)).toHaveLength(1);
      expect(find((f) => f.protocol === 'udp' && f.src === dst && f.dst === src)).toEqual([]);
    });
  }

  it('counts a TCP transfer exactly each way, GSO super-packets as their segments', async () => {
    stats = enableStats();
    const runsBefore = collector.health().programRuns;
    const retransBefore = retransmittedSegments(wire.a) + retransmittedSegments(wire.b);
    const send = 8 * 1024 * 1024 + 123;
    const reply = 2 * 1024 * 1024 + 7;
    expect(await tcpTransfer(wire.a, wire.b, wire.bIp, 4180, send, reply)).toEqual({ serverGot: send, clientGot: reply });
    collector.drainNow();
    const tcp = find((f) => f.protocol === 'tcp' && (f.dstPort === 4180 || f.srcPort === 4180));
    expect(tcp).toHaveLength(4);
    // The wire carries a retransmitted segment twice; on a busy CI machine a veth backlog can drop one.
    const resent = retransmittedSegments(wire.a) + retransmittedSegments(wire.b) - retransBefore;
    for (const f of tcp) {
      const upstream = f.dstPort === 4180;
      if (resent === 0) {
        expect(f.payloadBytes).toBe(upstream ? send : reply);
        // Every segment carries IPv4 (20) + TCP with timestamps (32) = 52 header bytes; the SYN's options are 8 longer.
        expect(f.bytes).toBe(f.payloadBytes + 52 * f.packets + 8);
      } else {
        // What was resent crossed the wire twice (and duplicate ACKs carry SACK blocks).
        expect(f.payloadBytes - (upstream ? send : reply)).toBeGreaterThanOrEqual(0);
        expect(f.payloadBytes - (upstream ? send : reply)).toBeLessThanOrEqual(resent * 1448);
        expect(f.bytes).toBeGreaterThanOrEqual(f.payloadBytes + 52 * f.packets + 8);
      }
      expect(f.packets).toBeGreaterThanOrEqual(Math.ceil(f.payloadBytes / 1448));
      expect(f.tcpFlags & 0x13).toBe(0x13); // SYN, ACK and FIN seen both ways
    }
    // Counted once per direction (one end of the wire is a duplicate), they confirm the TCP link.
    const link = {
      id: 'L', client: { ip: wire.aIp }, server: { ip: wire.bIp, port: 4180 }, protocol: 'tcp' as const, bytesSent: send, bytesReceived: reply,
      sendRate: 0, receiveRate: 0, connections: { active: 0, closed: 1, failed: 0 }, retransmits: 0, firstSeen: 0, lastSeen: 0,
    };
    const onWire = collector.confirmTcpLinks([link]).get('L')!;
    if (resent === 0) expect(onWire).toMatchObject({ payloadSent: send, payloadReceived: reply });
    else expect(onWire.payloadSent + onWire.payloadReceived).toBeGreaterThanOrEqual(send + reply);
    // The program ran fewer times than packets were counted: TC saw GSO super-packets.
    const health = collector.health();
    const counted = tcp.reduce((n, f) => n + f.packets, 0);
    expect(health.programRuns - runsBefore).toBeLessThan(counted);
    expect(health.unparsed).toBe(0);
  });
});
