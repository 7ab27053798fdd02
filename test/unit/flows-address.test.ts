import { describe, expect, it } from 'vitest';
import { AF_INET6, addressFromBytes } from '../../src/collector/tables/address.js';
import { parseAddress } from '../../src/collector/tables/flows-address.js';

const formatAddress = (b: Uint8Array): string => addressFromBytes(AF_INET6, b);

describe('flow key addresses (parsed here, shown by tables/address.ts)', () => {
  it('shows IPv4-mapped addresses as IPv4', () => {
    expect(formatAddress(parseAddress('10.41.0.2'))).toBe('10.41.0.2');
    expect(parseAddress('10.41.0.2').toString('hex')).toBe('00000000000000000000ffff0a290002');
  });

  it('compresses IPv6 the RFC 5952 way', () => {
    for (const [input, shown] of [
      ['fd00:41::2', 'fd00:41::2'],
      ['::1', '::1'],
      ['::', '::'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['fe80::', 'fe80::'],
    ]) {
      expect(formatAddress(parseAddress(input!))).toBe(shown);
    }
  });

  it('rejects what is not an address', () => {
    expect(() => parseAddress('10.0.0.256')).toThrow(/IPv4/);
    expect(() => parseAddress('1::2::3')).toThrow(/IP address/);
    expect(() => parseAddress('1:2:3')).toThrow(/IPv6/);
  });
});
