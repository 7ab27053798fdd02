// dns.bpf.c itself, run by the kernel on crafted frames with BPF_PROG_TEST_RUN: what it copies into
// the ring buffer (only UDP from port 53, IPv4 and IPv6; cut at 512 bytes or at the end of the
// packet), what it skips (other ports, TCP, fragments, bad lengths), and that it never decides a
// packet's fate.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { join } from 'node:path';
import { openObject, type KernelObject, type RingBufferConsumer } from '../../src/collector/kernel/index.js';
import { decodeDnsEvent, DnsSniffer } from '../../src/collector/resolve/dns/dns-sniffer.js';
import { addressNames, parseDnsResponse } from '../../src/collector/resolve/dns/dns-message.js';
import { describePrivileged } from '../helpers/privileged.js';
import { encodeResponse } from '../unit/resolve-fixtures/dns-packet.js';
import { frame } from './resolve-fixtures/dns-frame.js';

const OBJECT = join(import.meta.dirname, '../../lib/bpf/dns.bpf.o');
const TC_ACT_UNSPEC = 0xffffffff;

describePrivileged('dns.bpf.c (BPF_PROG_TEST_RUN)', () => {
  let obj: KernelObject;
  let consumer: RingBufferConsumer;
  const got: Buffer[] = [];

  beforeAll(() => {
    obj = openObject(OBJECT);
    consumer = obj.consumeRingBuffer('dns_events', (records) => got.push(...records.map((r) => Buffer.from(r))));
  });

  afterAll(() => {
    consumer?.close();
    obj?.close();
  });

  const SENTINEL_ID = 0xbeef;
  const sentinel = frame({ payload: encodeResponse({ id: SENTINEL_ID, question: { name: 's.test', type: 'A' }, answers: [] }) });
  const isSentinel = (r: Buffer) => decodeDnsEvent(r)?.payload.readUInt16BE(0) === SENTINEL_ID;

  /**
   * Runs the program on each frame, then on a sentinel answer; returns what reached the ring
   * buffer before the sentinel (records keep their order, so nothing can still be on its way).
   */
  async function run(...frames: Buffer[]): Promise<{ payload: Buffer }[]> {
    got.length = 0;
    for (const f of [...frames, sentinel]) expect(obj.testRun('dns_answers', { data: f }).retval).toBe(TC_ACT_UNSPEC);
    for (let i = 0; i < 500 && !got.some(isSentinel); i++) await new Promise((r) => setTimeout(r, 10));
    const end = got.findIndex(isSentinel);
    expect(end).toBeGreaterThanOrEqual(0);
    return got.slice(0, end).map((r) => decodeDnsEvent(r)!);
  }

  const answer = encodeResponse({ question: { name: 'db.weft.test', type: 'A' }, answers: [{ name: 'db.weft.test', type: 'A', ttl: 30, data: '10.78.1.1' }] });

  it('copies UDP answers from port 53, IPv4 and IPv6, whole', async () => {
    const out = await run(frame({ payload: answer }), frame({ family: 6, payload: answer }));
    expect(out).toHaveLength(2);
    for (const e of out) {
      expect(e.payload.equals(answer)).toBe(true);
      expect(addressNames(parseDnsResponse(e.payload).response!)).toEqual([{ ip: '10.78.1.1', name: 'db.weft.test', ttl: 30 }]);
    }
  });

  it('skips other ports, TCP, non-first fragments and UDP lengths with no payload', async () => {
    const out = await run(
      frame({ sport: 5353, payload: answer }),
      frame({ proto: 'tcp', payload: answer }),
      frame({ payload: answer, frag: 0x2000 }), // more fragments
      frame({ payload: answer, frag: 0x0010 }), // offset
      frame({ payload: answer, udpLen: 8 }),
      frame({ payload: answer, udpLen: 3 }),
    );
    expect(out).toHaveLength(0);
  });

  it('cuts at 512 bytes, and at the end of the packet when the UDP length claims more', async () => {
    const big = Buffer.concat([answer, Buffer.alloc(800 - answer.length, 0xab)]);
    const [cut] = await run(frame({ payload: big }));
    expect(cut!.payload.length).toBe(512);
    expect(cut!.payload.equals(big.subarray(0, 512))).toBe(true);
    const [short] = await run(frame({ payload: answer, udpLen: 8 + 400 }));
    expect(short!.payload.equals(answer)).toBe(true);
  });
});

describePrivileged('dns.bpf.c with its ring buffer full', () => {
  it('counts the answers it could not hand over, and the sniffer reports them as lost', async () => {
    // Nobody consumes while the frames run: 256 KiB hold about 490 answers of 512 bytes.
    const obj = openObject(OBJECT);
    const sniffer = new DnsSniffer(obj, () => {});
    try {
      const big = Buffer.alloc(600, 0xab);
      big.writeUInt16BE(0x8180, 2); // a response header, so the parser reads it and finds it malformed
      const runs = 700;
      for (let i = 0; i < runs; i++) obj.testRun('dns_answers', { data: frame({ payload: big }) });
      expect(sniffer.stats.lost).toBeGreaterThan(0);
      sniffer.start();
      const heard = () => sniffer.stats.answers + sniffer.stats.malformed;
      for (let i = 0; i < 500 && heard() + sniffer.stats.lost < runs; i++) await new Promise((r) => setTimeout(r, 10));
      expect(heard() + sniffer.stats.lost).toBe(runs);
    } finally {
      sniffer.close();
    }
  });
});
