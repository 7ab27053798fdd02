// The flow program itself, run by the kernel on crafted packets with BPF_PROG_TEST_RUN.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { FLOW_KEY_SIZE, FLOW_VALUE_SIZE, type FlowSample } from '../../src/collector/kernel/flows-layout.js';
import { FlowProgram, type FlowProgramOptions } from '../../src/collector/kernel/flows-program.js';
import { describePrivileged } from '../helpers/privileged.js';
import { ethFrame, headerBytes, skbContext, type PacketSpec } from '../helpers/flows-packets.js';

const OBJECT = 'lib/bpf/flows.bpf.o';
const TC_ACT_UNSPEC = 0xffffffff;
let program: FlowProgram | undefined;

function open(opts: Partial<FlowProgramOptions> = {}): FlowProgram {
  program = new FlowProgram({ objectPath: OBJECT, flowEntries: 1024, ...opts });
  return program;
}

afterEach(() => {
  program?.close();
  program = undefined;
});

function run(p: FlowProgram, data: Buffer, direction: 'ingress' | 'egress' = 'ingress', ctx?: Buffer): void {
  expect(p.testRun(direction, data, ctx ? { ctx } : {}).retval).toBe(TC_ACT_UNSPEC);
}

const v4 = { family: 4, src: '10.41.0.1', dst: '10.41.0.2' } as const;
const v6 = { family: 6, src: 'fd00:41::1', dst: 'fd00:41::2' } as const;

describePrivileged('flow program (BPF_PROG_TEST_RUN)', () => {
  it('has the map layouts the decoder reads', () => {
    const p = open();
    expect(p.object.btfStruct('flow_key').size).toBe(FLOW_KEY_SIZE);
    expect(p.object.btfStruct('flow_value').size).toBe(FLOW_VALUE_SIZE);
    const offsets = Object.fromEntries(p.object.btfStruct('flow_key').members.map((m) => [m.name, m.offset]));
    expect(offsets).toMatchObject({ saddr: 0, daddr: 16, sport: 32, dport: 34, ifindex: 36, netns: 40, proto: 44, direction: 45 });
    const v = Object.fromEntries(p.object.btfStruct('flow_value').members.map((m) => [m.name, m.offset]));
    expect(v).toMatchObject({ packets: 0, bytes: 8, payload_bytes: 16, first_ns: 24, last_ns: 32, tcp_flags: 40 });
  });

  const cases: [string, PacketSpec, number, number][] = [
    ['IPv4 TCP', { ...v4, proto: 'tcp', srcPort: 40000, dstPort: 80, payload: 100, tcpFlags: 0x18 }, 6, 0x18],
    ['IPv4 UDP', { ...v4, proto: 'udp', srcPort: 40000, dstPort: 53, payload: 33 }, 17, 0],
    ['IPv4 ICMP', { ...v4, proto: 'icmp', payload: 56 }, 1, 0],
    ['IPv6 TCP', { ...v6, proto: 'tcp', srcPort: 40000, dstPort: 443, payload: 1000, tcpFlags: 0x02 }, 6, 0x02],
    ['IPv6 UDP', { ...v6, proto: 'udp', srcPort: 40000, dstPort: 53, payload: 0 }, 17, 0],
    ['IPv6 ICMPv6', { ...v6, proto: 'icmp', payload: 56 }, 58, 0],
  ];
  for (const [name, spec, proto, flags] of cases) {
    it(`counts ${name} exactly, both directions`, () => {
      const p = open();
      const frame = ethFrame(spec);
      run(p, frame, 'ingress');
      run(p, frame, 'egress');
      run(p, frame, 'egress');
      const flows = p.drain().sort((a, b) => a.direction.localeCompare(b.direction));
      expect(flows).toHaveLength(2);
      const ports = spec.proto === 'icmp' ? { srcPort: spec.family === 4 ? 8 : 128, dstPort: 0 } : { srcPort: spec.srcPort, dstPort: spec.dstPort };
      const ipBytes = headerBytes(spec) + spec.payload;
      for (const [f, dir, n] of [[flows[0]!, 'egress', 2], [flows[1]!, 'ingress', 1]] as const) {
        expect(f).toMatchObject({ src: spec.src, dst: spec.dst, proto, direction: dir, ifindex: 1, ...ports });
        expect(f.netnsInode).toBeGreaterThan(0);
        expect(f).toMatchObject({ packets: n, bytes: n * ipBytes, payloadBytes: n * spec.payload, tcpFlags: flags });
        expect(f.lastNs).toBeGreaterThanOrEqual(f.firstNs);
      }
      expect(p.counters().unparsed).toBe(0);
      expect(p.drain()).toEqual([]); // drained means gone
    });
  }

  it('reads through 802.1Q and 802.1AD tags: the same flow as untagged, IP bytes only', () => {
    const p = open();
    const base: PacketSpec = { ...v4, proto: 'udp', srcPort: 1, dstPort: 2, payload: 10 };
    run(p, ethFrame(base));
    run(p, ethFrame({ ...base, vlans: [[0x8100, 41]] }));
    run(p, ethFrame({ ...base, vlans: [[0x88a8, 100], [0x8100, 41]] }));
    run(p, ethFrame({ ...v6, proto: 'tcp', srcPort: 1, dstPort: 2, payload: 10, vlans: [[0x8100, 7]] }));
    const flows = p.drain();
    expect(flows).toHaveLength(2);
    const udp = flows.find((f) => f.proto === 17)!;
    expect(udp).toMatchObject({ packets: 3, bytes: 3 * 38, payloadBytes: 30 });
    expect(flows.find((f) => f.proto === 6)!.bytes).toBe(70);
  });

  it('walks IPv6 extension headers and keeps fragments apart', () => {
    const p = open();
    const spec: PacketSpec = { ...v6, proto: 'udp', srcPort: 7, dstPort: 9, payload: 20, ext: ['hop', 'dst', 'routing', 'fragment'] };
    run(p, ethFrame(spec));
    run(p, ethFrame({ ...v4, proto: 'udp', srcPort: 7, dstPort: 9, payload: 64, fragmentOffset: 185 }));
    const flows = p.drain();
    const six = flows.find((f) => f.src === v6.src)!;
    expect(six).toMatchObject({ proto: 17, srcPort: 7, dstPort: 9 });
    expect(six).toMatchObject({ packets: 1, bytes: 40 + 32 + 8 + 20, payloadBytes: 20 });
    // A later IPv4 fragment has no UDP header: its flow has no ports and all of it is payload.
    const frag = flows.find((f) => f.src === v4.src)!;
    expect(frag).toMatchObject({ proto: 17, srcPort: 0, dstPort: 0 });
    expect(frag).toMatchObject({ bytes: 84, payloadBytes: 64 });
    expect(p.counters().unparsed).toBe(0);
  });

  it('counts a GSO super-packet as its segments, headers once per segment', () => {
    const p = open();
    const spec: PacketSpec = { ...v4, proto: 'tcp', srcPort: 5, dstPort: 6, payload: 2000 };
    run(p, ethFrame(spec), 'egress', skbContext({ segs: 4, size: 500 }));
    const spec6: PacketSpec = { ...v6, proto: 'udp', srcPort: 5, dstPort: 6, payload: 3000 };
    run(p, ethFrame(spec6), 'egress', skbContext({ segs: 3, size: 1000 }));
    const flows = p.drain();
    expect(flows.find((f) => f.proto === 6)!).toMatchObject({ packets: 4, bytes: 2000 + 4 * 40, payloadBytes: 2000 });
    expect(flows.find((f) => f.proto === 17)!).toMatchObject({ packets: 3, bytes: 3000 + 3 * 48, payloadBytes: 3000 });
  });

  it('never makes a flow from a truncated or malformed packet, and counts each as unparsed', () => {
    const p = open();
    const good4 = ethFrame({ ...v4, proto: 'tcp', srcPort: 1, dstPort: 2, payload: 0 });
    const good6 = ethFrame({ ...v6, proto: 'udp', srcPort: 1, dstPort: 2, payload: 0 });
    const patch = (b: Buffer, at: number, bytes: number[]): Buffer => {
      const c = Buffer.from(b);
      bytes.forEach((v, i) => (c[at + i] = v));
      return c;
    };
    const bad: [string, Buffer][] = [
      // The kernel's test run wants a whole IP header behind an IP ethertype; behind a VLAN tag it does not.
      ['IPv4 header cut short (behind a VLAN tag)', ethFrame({ ...v4, proto: 'tcp', srcPort: 1, dstPort: 2, payload: 0, vlans: [[0x8100, 1]] }).subarray(0, 18 + 10)],
      ['IPv4 IHL beyond the packet', patch(good4, 14, [0x4f])],
      ['IPv4 version 5', patch(good4, 14, [0x55])],
      ['IPv4 IHL below 5', patch(good4, 14, [0x44])],
      ['IPv4 total length beyond the packet', patch(good4, 16, [0x05, 0xdc])],
      ['IPv4 total length shorter than its header', patch(good4, 16, [0x00, 0x10])],
      ['TCP header cut short', good4.subarray(0, 14 + 20 + 10)],
      ['TCP data offset below 5', patch(good4, 14 + 20 + 12, [0x40])],
      ['TCP header longer than the IP packet', patch(good4, 14 + 20 + 12, [0xf0])],
      ['IPv6 header cut short (behind a VLAN tag)', ethFrame({ ...v6, proto: 'udp', srcPort: 1, dstPort: 2, payload: 0, vlans: [[0x8100, 1]] }).subarray(0, 18 + 30)],
      ['IPv6 payload length 0', patch(good6, 18, [0, 0])],
      ['IPv6 UDP header cut short', good6.subarray(0, 14 + 40 + 4)],
      ['IPv6 with more extension headers than walked', ethFrame({ ...v6, proto: 'udp', srcPort: 1, dstPort: 2, payload: 0, ext: ['dst', 'dst', 'dst', 'dst', 'dst', 'dst', 'dst'] })],
      ['three VLAN tags', ethFrame({ ...v4, proto: 'udp', srcPort: 1, dstPort: 2, payload: 0, vlans: [[0x88a8, 1], [0x8100, 2], [0x8100, 3]] })],
      ['VLAN tag cut short', ethFrame({ ...v4, proto: 'udp', srcPort: 1, dstPort: 2, payload: 0, vlans: [[0x8100, 1]] }).subarray(0, 16)],
    ];
    for (const [name, frame] of bad) {
      try { run(p, frame); } catch (e) { throw new Error(`${name}: ${(e as Error).message}`); }
    }
    const arp = Buffer.concat([Buffer.from('ffffffffffff020000000001', 'hex'), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
    run(p, arp);
    expect(p.drain()).toEqual([]);
    expect(p.counters()).toMatchObject({ unparsed: bad.length, nonIp: 1, overflow: 0 });
  });

  it('sends packets that find the map full to the ring buffer as one-packet flows, and counts them', async () => {
    const p = open({ flowEntries: 4 });
    const deliveries: FlowSample[][] = [];
    const consumer = p.onOverflow((s) => deliveries.push(s), (e) => { throw e; });
    try {
      for (let port = 1; port <= 7; port += 1) run(p, ethFrame({ ...v4, proto: 'udp', srcPort: port, dstPort: 53, payload: 10 }));
      run(p, ethFrame({ ...v4, proto: 'udp', srcPort: 1, dstPort: 53, payload: 10 })); // existing flow: still fits
      // Three more packets of one overflowing flow, in one test run: one sample per flow per delivery.
      expect(p.testRun('ingress', ethFrame({ ...v4, proto: 'udp', srcPort: 7, dstPort: 53, payload: 10 }), { repeat: 3 }).retval).toBe(TC_ACT_UNSPEC);
      consumer.consume();
      const packets = (port: number): number => deliveries.flat().filter((s) => s.srcPort === port).reduce((n, s) => n + s.packets, 0);
      const deadline = Date.now() + 5000;
      while (packets(5) + packets(6) + packets(7) < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect([packets(5), packets(6), packets(7)]).toEqual([1, 1, 4]);
      for (const d of deliveries) expect(new Set(d.map((s) => s.srcPort)).size).toBe(d.length);
      expect(deliveries.flat().every((s) => s.bytes === s.packets * 38 && s.payloadBytes === s.packets * 10)).toBe(true);
      expect(p.counters()).toMatchObject({ overflow: 6, ringLost: 0 });
      const inMap = p.drain();
      expect(inMap).toHaveLength(4);
      expect(inMap.find((s) => s.srcPort === 1)!.packets).toBe(2);
    } finally {
      consumer.close();
    }
  });

  it('sums the creating CPU\'s plain counts and the other CPUs\' atomic ones', () => {
    const p = open();
    const cpus = availableParallelism();
    const pin = (cpu: string): void => void execFileSync('taskset', ['-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' });
    const spec = { ...v4, proto: 'tcp', srcPort: 3, dstPort: 4, payload: 100 } as const;
    try {
      pin('0');
      expect(p.testRun('ingress', ethFrame({ ...spec, tcpFlags: 0x02 }), { repeat: 3 }).retval).toBe(TC_ACT_UNSPEC);
      pin(cpus > 1 ? '1' : '0');
      expect(p.testRun('ingress', ethFrame({ ...spec, tcpFlags: 0x11 }), { repeat: 2 }).retval).toBe(TC_ACT_UNSPEC);
    } finally {
      pin(`0-${cpus - 1}`);
    }
    const [f, ...rest] = p.drain();
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ packets: 5, bytes: 5 * 140, payloadBytes: 500, tcpFlags: 0x13 });
  });

  it('drains more flows than one flows_drain run copies', () => {
    // A table under a third full: nearer its capacity, the longest probe run among 9,000 flows can
    // pass FLOW_PROBES now and then, and that flow goes to the overflow ring (counted) instead.
    const p = open({ flowEntries: 20_000 });
    const frame = ethFrame({ ...v6, proto: 'udp', srcPort: 0, dstPort: 53, payload: 5 });
    for (let port = 1; port <= 9000; port += 1) {
      frame.writeUInt16BE(port, 14 + 40);
      run(p, frame);
    }
    run(p, frame);
    const flows = p.drain();
    expect(flows).toHaveLength(9000);
    expect(new Set(flows.map((f) => f.srcPort)).size).toBe(9000);
    expect(flows.reduce((n, f) => n + f.packets, 0)).toBe(9001);
    expect(flows.find((f) => f.srcPort === 9000)!.packets).toBe(2);
    expect(p.counters()).toMatchObject({ overflow: 0, raced: 0 });
    expect(p.drain()).toEqual([]);
  });

  it('applies port and protocol filters and sampling in the kernel, and counts what they left out', () => {
    const p = open({ filters: { ports: [53], protocols: ['udp', 'icmp'] } });
    run(p, ethFrame({ ...v4, proto: 'udp', srcPort: 40000, dstPort: 53, payload: 1 }));
    run(p, ethFrame({ ...v4, proto: 'udp', srcPort: 53, dstPort: 40000, payload: 1 }));
    run(p, ethFrame({ ...v4, proto: 'udp', srcPort: 40000, dstPort: 54, payload: 1 }));
    run(p, ethFrame({ ...v4, proto: 'tcp', srcPort: 40000, dstPort: 53, payload: 1 }));
    run(p, ethFrame({ ...v4, proto: 'icmp', payload: 1 }));
    expect(p.drain().map((s) => `${s.proto}:${s.srcPort}>${s.dstPort}`).sort()).toEqual(['17:40000>53', '17:53>40000', '1:8>0']);
    expect(p.counters().filtered).toBe(2);
    p.close();

    const s = open({ sampling: 1_000_000 });
    const frame = ethFrame({ ...v4, proto: 'udp', srcPort: 1, dstPort: 2, payload: 1 });
    expect(s.testRun('ingress', frame, { repeat: 1000 }).retval).toBe(TC_ACT_UNSPEC);
    const counted = s.drain().reduce((n, f) => n + f.packets, 0);
    expect(counted + s.counters().sampledOut).toBe(1000);
    expect(s.counters().sampledOut).toBeGreaterThan(990);
    expect(() => open({ sampling: 0 })).toThrow(/sampling/);
    expect(() => open({ filters: { ports: [70000] } })).toThrow(/port/);
  });

  it('drains exactly while the kernel keeps counting on several CPUs (half switch)', async () => {
    const p = open();
    // A packet whose flow slot another CPU is creating at that instant goes to the ring buffer.
    let raced = 0;
    const consumer = p.onOverflow((s) => (raced += s.reduce((n, f) => n + f.packets, 0)), (e) => { throw e; });
    try {
      const frame = ethFrame({ ...v4, proto: 'udp', srcPort: 9, dstPort: 9, payload: 1 });
      const runs = 4;
      const repeat = 1_000_000;
      let done = false;
      const work = Promise.all(Array.from({ length: runs }, () => p.testRunAsync('ingress', frame, { repeat }))).finally(() => (done = true));
      let total = 0;
      let drainsWithPackets = 0;
      while (!done) {
        const got = p.drain().reduce((n, f) => n + f.packets, 0);
        if (got > 0) drainsWithPackets += 1;
        total += got;
        await new Promise((r) => setTimeout(r, 1));
      }
      await work;
      total += p.drain().reduce((n, f) => n + f.packets, 0);
      consumer.consume();
      const deadline = Date.now() + 5000;
      while (raced < p.counters().raced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(raced).toBe(p.counters().raced);
      expect(p.counters()).toMatchObject({ overflow: 0, ringLost: 0 });
      expect(total + raced).toBe(runs * repeat);
      expect(drainsWithPackets).toBeGreaterThan(1); // drains really raced with the program
    } finally {
      consumer.close();
    }
  });
});
