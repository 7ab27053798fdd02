import { describe, expect, it } from 'vitest';
import { addressNames, formatIpv6, parseDnsResponse } from '../../src/collector/resolve/dns/dns-message.js';
import { DnsCache } from '../../src/collector/resolve/dns/dns-cache.js';
import { decodeDnsEvent, namesFromRecord } from '../../src/collector/resolve/dns/dns-sniffer.js';
import { encodeResponse } from './resolve-fixtures/dns-packet.js';

describe('DNS answer parser', () => {
  it('reads A and AAAA answers with compressed names', () => {
    const buf = encodeResponse({
      question: { name: 'api.example.test', type: 'A' },
      answers: [
        { name: 'api.example.test', type: 'A', ttl: 60, data: '10.71.0.9' },
        { name: 'api.example.test', type: 'AAAA', ttl: 30, data: 'fd00:71::9' },
      ],
    });
    expect(buf.includes(0xc0)).toBe(true); // the encoder really used pointers
    const r = parseDnsResponse(buf);
    expect(r.error).toBeUndefined();
    expect(r.response!.questions).toEqual([{ name: 'api.example.test', type: 1 }]);
    expect(addressNames(r.response!)).toEqual([
      { ip: '10.71.0.9', name: 'api.example.test', ttl: 60 },
      { ip: 'fd00:71::9', name: 'api.example.test', ttl: 30 },
    ]);
  });

  it('names the address by the name asked for, through a CNAME chain, with the smallest TTL', () => {
    const buf = encodeResponse({
      question: { name: 'www.shop.test', type: 'A' },
      answers: [
        { name: 'www.shop.test', type: 'CNAME', ttl: 300, data: 'edge.cdn.test' },
        { name: 'edge.cdn.test', type: 'CNAME', ttl: 20, data: 'node7.edge.cdn.test' },
        { name: 'node7.edge.cdn.test', type: 'A', ttl: 100, data: '10.71.3.7' },
      ],
    });
    const names = addressNames(parseDnsResponse(buf).response!);
    expect(names).toEqual([{ ip: '10.71.3.7', name: 'www.shop.test', canonical: 'node7.edge.cdn.test', ttl: 20 }]);
  });

  it('survives a CNAME loop', () => {
    const buf = encodeResponse({
      question: { name: 'a.test', type: 'A' },
      answers: [
        { name: 'a.test', type: 'CNAME', ttl: 5, data: 'b.test' },
        { name: 'b.test', type: 'CNAME', ttl: 5, data: 'a.test' },
        { name: 'b.test', type: 'A', ttl: 5, data: '10.71.0.1' },
      ],
    });
    expect(addressNames(parseDnsResponse(buf).response!)).toHaveLength(1);
  });

  it('formats IPv6 per RFC 5952', () => {
    const b = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));
    expect(formatIpv6(b('20010db8000000000000000000000001'))).toBe('2001:db8::1');
    expect(formatIpv6(b('00000000000000000000000000000001'))).toBe('::1');
    expect(formatIpv6(b('20010db8000100000001000000000000'))).toBe('2001:db8:1:0:1::');
    expect(formatIpv6(b('20010db8000000010001000100010001'))).toBe('2001:db8:0:1:1:1:1:1');
  });

  it('reports malformed packets without throwing', () => {
    const good = encodeResponse({ question: { name: 'x.test', type: 'A' }, answers: [{ name: 'x.test', type: 'A', ttl: 1, data: '10.71.0.1' }] });
    expect(parseDnsResponse(good.subarray(0, 5)).error).toMatch(/truncated/);
    expect(parseDnsResponse(good.subarray(0, good.length - 2)).error).toMatch(/truncated/);
    const query = Buffer.from(good);
    query[2] = 0x01; // QR=0
    expect(parseDnsResponse(query).error).toMatch(/not a response/);
    // A pointer to itself.
    const loop = Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    expect(parseDnsResponse(loop).error).toMatch(/loop/);
    // An A record whose rdata is not 4 bytes.
    const bad = Buffer.from(good);
    bad.writeUInt16BE(3, bad.length - 6);
    expect(parseDnsResponse(bad).error).toBeDefined();
  });

  it('never throws on random or mutated input', () => {
    const good = encodeResponse({
      question: { name: 'fuzz.example.test', type: 'A' },
      answers: [
        { name: 'fuzz.example.test', type: 'CNAME', ttl: 9, data: 'b.example.test' },
        { name: 'b.example.test', type: 'A', ttl: 9, data: '10.71.0.2' },
      ],
    });
    let seed = 71;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let errors = 0;
    for (let i = 0; i < 5000; i++) {
      const b = i % 2 === 0 ? Buffer.from(good) : Buffer.alloc(Math.floor(rand() * 80));
      for (let k = 0; k < 3; k++) if (b.length) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const r = parseDnsResponse(b);
      if (r.error) errors += 1;
      else addressNames(r.response!);
    }
    expect(errors).toBeGreaterThan(0);
  });
});

describe('DNS cache', () => {
  it('keeps a name for its TTL, then forgets it', () => {
    let now = 1_000_000;
    const c = new DnsCache({ minTtlSec: 1, now: () => now });
    c.add({ ip: '10.71.0.9', name: 'api.example.test', ttl: 30 });
    expect(c.get('10.71.0.9')).toBe('api.example.test');
    now += 29_999;
    expect(c.get('10.71.0.9')).toBe('api.example.test');
    now += 1;
    expect(c.get('10.71.0.9')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('applies the TTL floor and ceiling, and a newer answer replaces an older one', () => {
    let now = 0;
    const c = new DnsCache({ minTtlSec: 5, maxTtlSec: 60, now: () => now });
    c.add({ ip: '10.71.0.1', name: 'zero.test', ttl: 0 });
    c.add({ ip: '10.71.0.2', name: 'long.test', ttl: 86_400 });
    now = 4_999;
    expect(c.get('10.71.0.1')).toBe('zero.test');
    c.add({ ip: '10.71.0.1', name: 'other.test', ttl: 10 });
    expect(c.get('10.71.0.1')).toBe('other.test');
    now = 60_000;
    expect(c.get('10.71.0.2')).toBeUndefined();
  });

  it('is bounded', () => {
    const c = new DnsCache({ maxEntries: 3 });
    for (let i = 0; i < 10; i++) c.add({ ip: `10.71.0.${i}`, name: `n${i}.test`, ttl: 60 });
    expect(c.size).toBe(3);
    expect(c.get('10.71.0.9')).toBe('n9.test');
    expect(c.get('10.71.0.0')).toBeUndefined();
  });
});

describe('DNS ring buffer records', () => {
  const payload = encodeResponse({ question: { name: 'r.test', type: 'A' }, answers: [{ name: 'r.test', type: 'A', ttl: 5, data: '10.71.0.5' }] });
  const record = (p: Buffer, len = p.length) => {
    const b = Buffer.alloc(8 + 512);
    b.writeUInt32LE(7, 0);
    b.writeUInt16LE(len, 4);
    p.copy(b, 8);
    return b;
  };

  it('decodes the header dns.bpf.c writes', () => {
    const ev = decodeDnsEvent(record(payload));
    expect(ev!.ifindex).toBe(7);
    expect(ev!.payload.equals(payload)).toBe(true);
    expect(decodeDnsEvent(Buffer.alloc(4))).toBeUndefined();
    expect(decodeDnsEvent(record(payload, 600))).toBeUndefined();
  });

  it('turns records into names, and bad records into errors, without throwing', () => {
    expect(namesFromRecord(record(Buffer.from([1, 2, 3])))).toEqual({ error: expect.stringMatching(/truncated/) });
    expect(namesFromRecord(Buffer.alloc(3))).toEqual({ error: 'short ring buffer record' });
    expect(namesFromRecord(record(payload))).toEqual({ names: [{ ip: '10.71.0.5', name: 'r.test', ttl: 5 }] });
  });
});
