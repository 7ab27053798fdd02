import { describe, expect, it } from 'vitest';
import { decodeBatch, decodeEvent, encodeKey, decodeKey, FLOW_KEY_SIZE, FLOW_VALUE_SIZE, sumPerCpu, type FlowKey } from '../../src/collector/kernel/flows-layout.js';

const key: FlowKey = { src: '10.41.0.1', dst: 'fd00:41::2', srcPort: 40000, dstPort: 53, proto: 17, ifindex: 7, netnsInode: 4026531840, direction: 'egress' };

function value(packets: number, bytes: number, payload: number, first: number, last: number, flags: number): Buffer {
  const b = Buffer.alloc(FLOW_VALUE_SIZE);
  [packets, bytes, payload, first, last, flags].forEach((v, i) => b.writeBigUInt64LE(BigInt(v), i * 8));
  return b;
}

describe('flow map layouts', () => {
  it('round-trips a key through the C layout', () => {
    const b = encodeKey(key);
    expect(b.length).toBe(FLOW_KEY_SIZE);
    expect(decodeKey(b)).toEqual(key);
    // offsets as in bpf/flows.h: ports at 32, ifindex 36, netns 40, proto 44, direction 45
    expect(b.readUInt16LE(32)).toBe(40000);
    expect(b.readUInt32LE(40)).toBe(4026531840);
    expect(b[44]).toBe(17);
    expect(b[45]).toBe(1);
  });

  it('decodes drained records and overflow records', () => {
    const keys = Buffer.concat([encodeKey(key), encodeKey({ ...key, srcPort: 1, direction: 'ingress' })]);
    const values = Buffer.concat([value(3, 300, 216, 10, 20, 0), value(1, 60, 32, 5, 5, 0x12)]);
    const [a, b] = decodeBatch(Buffer.concat([keys.subarray(0, 48), values.subarray(0, 48), keys.subarray(48), values.subarray(48)]), 2);
    expect(a!).toEqual({ ...key, packets: 3, bytes: 300, payloadBytes: 216, firstNs: 10, lastNs: 20, tcpFlags: 0 });
    expect(b!.srcPort).toBe(1);
    expect(b!.direction).toBe('ingress');
    expect(b!.tcpFlags).toBe(0x12);
    const ev = decodeEvent(Buffer.concat([encodeKey(key), value(1, 100, 72, 9, 9, 0)]));
    expect(ev).toMatchObject(key);
    expect(ev.bytes).toBe(100);
    expect(() => decodeEvent(Buffer.alloc(10))).toThrow(/10 bytes/);
  });

  it('decodes IPv6 and large counters exactly, from an unaligned buffer too', () => {
    const k6 = { ...key, src: 'fd00:41::1', dst: '2001:db8::1:0:0:1' };
    const v = value(2 ** 40 + 3, 2 ** 52, 1, 2, 3, 0x80);
    const records = Buffer.concat([Buffer.alloc(1), encodeKey(k6), v]).subarray(1);
    const [s] = decodeBatch(records, 1);
    expect(s).toEqual({ ...k6, packets: 2 ** 40 + 3, bytes: 2 ** 52, payloadBytes: 1, firstNs: 2, lastNs: 3, tcpFlags: 0x80 });
  });

  it('sums a per-CPU slot', () => {
    const b = Buffer.alloc(24);
    b.writeBigUInt64LE(2n, 0);
    b.writeBigUInt64LE(5n, 16);
    expect(sumPerCpu(b)).toBe(7);
  });
});
