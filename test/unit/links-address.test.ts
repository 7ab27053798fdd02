import { describe, expect, it } from 'vitest';
import { addressFromBytes, AF_INET, AF_INET6, isLoopback, normalizeAddress } from '../../src/collector/tables/address.js';

const v6 = (...groups: number[]): Buffer => {
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  return b;
};

describe('addressFromBytes', () => {
  it('prints IPv4 from the first four bytes', () => {
    expect(addressFromBytes(AF_INET, Buffer.from([10, 31, 0, 2, 9, 9, 9, 9]))).toBe('10.31.0.2');
  });

  it('reports IPv4-mapped IPv6 as IPv4', () => {
    expect(addressFromBytes(AF_INET6, v6(0, 0, 0, 0, 0, 0xffff, 0x0a1f, 0x0002))).toBe('10.31.0.2');
  });

  it('compresses the longest run of zero groups, the first on a tie', () => {
    expect(addressFromBytes(AF_INET6, v6(0xfd00, 31, 0, 0, 0, 0, 0, 2))).toBe('fd00:1f::2');
    expect(addressFromBytes(AF_INET6, v6(0, 0, 0, 0, 0, 0, 0, 1))).toBe('::1');
    expect(addressFromBytes(AF_INET6, v6(1, 0, 0, 2, 0, 0, 3, 4))).toBe('1::2:0:0:3:4');
    expect(addressFromBytes(AF_INET6, v6(1, 0, 2, 3, 4, 5, 6, 7))).toBe('1:0:2:3:4:5:6:7');
    expect(addressFromBytes(AF_INET6, v6(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
  });

  it('refuses an unknown family or a short buffer', () => {
    expect(() => addressFromBytes(1, Buffer.alloc(16))).toThrow(/unknown address family 1/);
    expect(() => addressFromBytes(AF_INET6, Buffer.alloc(4))).toThrow(/16 bytes/);
  });
});

describe('normalizeAddress', () => {
  it('turns ::ffff:a.b.c.d into a.b.c.d and lower-cases IPv6', () => {
    expect(normalizeAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeAddress('FD00::1')).toBe('fd00::1');
    expect(normalizeAddress('10.0.0.1')).toBe('10.0.0.1');
  });

  it('knows loopback', () => {
    expect(isLoopback('127.0.0.53')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('10.0.0.1')).toBe(false);
  });
});
