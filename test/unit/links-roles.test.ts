import { describe, expect, it } from 'vitest';
import { decideRole, ListenerIndex } from '../../src/collector/tables/links-roles.js';

const t = (localPort: number, remotePort: number, over = {}) => ({ netns: 1, localIp: '10.0.0.1', localPort, remoteIp: '10.0.0.2', remotePort, ...over });

describe('decideRole', () => {
  it('a listener on the local port makes the server, whatever the port numbers', () => {
    const l = new ListenerIndex([{ netns: 1, ip: '0.0.0.0', port: 50000 }]);
    expect(decideRole(t(50000, 80), l)).toBe('server');
  });

  it('a listener on the remote address (another local namespace) makes the client', () => {
    const l = new ListenerIndex([{ netns: 2, ip: '::', port: 40000 }], [{ netns: 2, ip: '10.0.0.2' }]);
    expect(decideRole(t(80, 40000), l)).toBe('client');
    const specific = new ListenerIndex([{ netns: 2, ip: '10.0.0.2', port: 40000 }]);
    expect(decideRole(t(80, 40000), specific)).toBe('client');
  });

  it('a listener in another namespace on a specific other address does not count', () => {
    const l = new ListenerIndex([{ netns: 1, ip: '10.9.9.9', port: 50000 }]);
    expect(decideRole(t(50000, 80), l)).toBe('client');
  });

  it('loopback listeners only count in the same namespace', () => {
    const l = new ListenerIndex([{ netns: 2, ip: '127.0.0.1', port: 9000 }]);
    expect(decideRole(t(45000, 9000, { localIp: '127.0.0.1', remoteIp: '127.0.0.1' }), l)).toBe('client'); // ephemeral-port guess
    expect(decideRole(t(9000, 45000, { localIp: '127.0.0.1', remoteIp: '127.0.0.1' }), l)).toBe('server');
    const same = new ListenerIndex([{ netns: 1, ip: '127.0.0.1', port: 45000 }]);
    expect(decideRole(t(9000, 45000, { localIp: '127.0.0.1', remoteIp: '127.0.0.1' }), same)).toBe('client');
  });

  it('an IPv4 wildcard listener does not accept IPv6; an IPv6 one accepts both', () => {
    const v4only = new ListenerIndex([{ netns: 1, ip: '0.0.0.0', port: 50000 }]);
    expect(v4only.listens(1, 'fd00::1', 50000)).toBe(false);
    const dual = new ListenerIndex([{ netns: 1, ip: '::', port: 50000 }]);
    expect(dual.listens(1, '10.0.0.1', 50000)).toBe(true);
  });

  it('without any listener known, the port below the ephemeral range serves', () => {
    const none = new ListenerIndex();
    expect(decideRole(t(443, 51000), none)).toBe('server');
    expect(decideRole(t(51000, 443), none)).toBe('client');
    expect(decideRole(t(2000, 3000), none)).toBe('server');
  });
});
