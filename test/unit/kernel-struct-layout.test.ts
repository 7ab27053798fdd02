// The struct layout helper follows C's rules: natural alignment, padding between fields and at
// the end, little-endian reads. (Each real layout is also checked against BTF in
// test/integration/kernel-objects.test.ts.)
import { describe, expect, it } from 'vitest';
import { defineStruct } from '../../src/collector/kernel/struct-layout.js';

describe('defineStruct', () => {
  it('pads like a C compiler', () => {
    // struct { u8 a; u32 b; u16 c; u64 d; u8 e[3]; } → 1+3pad, 4, 2+6pad, 8, 3+5pad = 32
    const s = defineStruct('mixed', [
      { name: 'a', type: 'u8' },
      { name: 'b', type: 'u32' },
      { name: 'c', type: 'u16' },
      { name: 'd', type: 'u64' },
      { name: 'e', type: 'bytes', length: 3 },
    ]);
    expect(s.fields.map((f) => [f.name, f.offset, f.size])).toEqual([
      ['a', 0, 1],
      ['b', 4, 4],
      ['c', 8, 2],
      ['d', 16, 8],
      ['e', 24, 3],
    ]);
    expect(s.size).toBe(32);
    expect(s.offsetOf('d')).toBe(16);
  });

  it('sizes a struct of only small fields by its largest member', () => {
    expect(defineStruct('s', [{ name: 'a', type: 'u16' }, { name: 'b', type: 'u8' }]).size).toBe(4);
    expect(defineStruct('s', [{ name: 'a', type: 'cstring', length: 16 }, { name: 'b', type: 'u8' }]).size).toBe(17);
  });

  it('decodes little-endian values, signed and unsigned, and C strings', () => {
    const s = defineStruct('rec', [
      { name: 'seq', type: 'u64' },
      { name: 'delta', type: 'i32' },
      { name: 'port', type: 'u16' },
      { name: 'comm', type: 'cstring', length: 6 },
    ]);
    const b = Buffer.alloc(s.size * 2);
    for (let i = 0; i < 2; i++) {
      const at = i * s.size;
      b.writeBigUInt64LE(2n ** 63n + BigInt(i), at);
      b.writeInt32LE(-5 - i, at + 8);
      b.writeUInt16LE(443 + i, at + 12);
      b.write(i ? 'nginx' : 'sh', at + 14);
    }
    expect(s.decodeAll(b)).toEqual([
      { seq: 2n ** 63n, delta: -5, port: 443, comm: 'sh' },
      { seq: 2n ** 63n + 1n, delta: -6, port: 444, comm: 'nginx' },
    ]);
    expect(s.decode(b, s.size).port).toBe(444);
  });

  it('reads records of a larger stride and refuses short buffers', () => {
    const s = defineStruct('v', [{ name: 'n', type: 'u32' }]);
    const b = Buffer.alloc(16);
    b.writeUInt32LE(1, 0);
    b.writeUInt32LE(2, 8);
    expect(s.decodeAll(b, 2, 8).map((r) => r.n)).toEqual([1, 2]);
    expect(() => s.decode(Buffer.alloc(3))).toThrow('v: need 4 bytes at offset 0, buffer has 3');
    expect(() => defineStruct('x', [{ name: 'a', type: 'bytes' }])).toThrow("x.a: 'bytes' needs a positive length");
  });
});
