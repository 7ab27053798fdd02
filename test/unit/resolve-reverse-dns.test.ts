import { describe, expect, it } from 'vitest';
import { makeReverseLookup } from '../../src/collector/resolve/dns/reverse-dns.js';

describe('reverse DNS servers', () => {
  it('accept an IP address, IPv4:port and [IPv6]:port', () => {
    expect(() => makeReverseLookup({ servers: ['10.71.0.1', '10.71.0.2:5353', 'fd00:71::1', '[fd00:71::2]:53'] })).not.toThrow();
  });

  it.each(['nope', '10.71.0.300', '10.71.0.1:99999', '10.71.0.1:0', '[fd00:71::1', 'fd00:71::1:53:x', ''])(
    'reject %j with an error naming it',
    (bad) => {
      expect(() => makeReverseLookup({ servers: ['10.71.0.1', bad] })).toThrow(`reverse DNS server "${bad}" is not an IP address`);
    },
  );
});
