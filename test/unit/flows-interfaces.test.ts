import { describe, expect, it } from 'vitest';
import { closeness } from '../../src/collector/interfaces/closeness.js';
import { parseIpLinks } from '../../src/collector/interfaces/list.js';
import { matchesPattern, parseInterfaceSpec } from '../../src/collector/interfaces/spec.js';

describe('interface selection', () => {
  it('no flag means the default-route interface', () => {
    expect(parseInterfaceSpec(undefined)).toEqual({ defaultRoute: true, patterns: [] });
    expect(parseInterfaceSpec(' ')).toEqual({ defaultRoute: true, patterns: [] });
  });

  it('reads names, wildcards and NETNS:PATTERN', () => {
    expect(parseInterfaceSpec('eth0, veth*,pods:eth?')).toEqual({
      defaultRoute: false,
      patterns: [{ pattern: 'eth0' }, { pattern: 'veth*' }, { netns: 'pods', pattern: 'eth?' }],
    });
  });

  it('rejects bad names with a clear error', () => {
    expect(() => parseInterfaceSpec('eth0,bad name')).toThrow(/"bad name" is not an interface name/);
    expect(() => parseInterfaceSpec('x/y:eth0')).toThrow(/not a network namespace name/);
    expect(() => parseInterfaceSpec('a234567890123456')).toThrow(/at most 15/);
  });

  it('matches wildcards like a shell', () => {
    expect(matchesPattern('veth12ab', 'veth*')).toBe(true);
    expect(matchesPattern('eth0', 'veth*')).toBe(false);
    expect(matchesPattern('eth1', 'eth?')).toBe(true);
    expect(matchesPattern('eth10', 'eth?')).toBe(false);
    expect(matchesPattern('a.b', 'a.b')).toBe(true);
    expect(matchesPattern('axb', 'a.b')).toBe(false);
  });

  it('parses ip -j -d link and ranks closeness to workloads', () => {
    const json = JSON.stringify([
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'] },
      { ifindex: 4, ifname: 'br0', flags: ['UP'], linkinfo: { info_kind: 'bridge' } },
      { ifindex: 5, ifname: 'vp1', flags: ['UP'], master: 'br0', link_netnsid: 0, linkinfo: { info_kind: 'veth' } },
      { ifindex: 2, ifname: 'eth0', flags: ['UP'] },
    ]);
    const [, br, vp, eth] = parseIpLinks(json, 'node', 123);
    expect(vp).toEqual({ name: 'vp1', ifindex: 5, netns: 'node', netnsInode: 123, kind: 'veth', master: 'br0', peerInOtherNetns: true, up: true });
    const uplinks = new Set(['eth0']);
    expect(closeness(vp!, uplinks)).toBe(0);
    expect(closeness(br!, uplinks)).toBe(2);
    expect(closeness({ ...eth!, netns: undefined }, uplinks)).toBe(3);
    expect(closeness(eth!, uplinks)).toBe(1); // an eth0 inside another netns is not our uplink
    expect(closeness({ ...vp!, peerInOtherNetns: false }, uplinks)).toBe(1); // both ends here: no workload behind it
  });
});
