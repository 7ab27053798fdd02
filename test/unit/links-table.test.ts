import { describe, expect, it } from 'vitest';
import { LinkTableState } from '../../src/collector/tables/links.js';
import type { Resolver } from '../../src/collector/resolve/types.js';
import type { ChangeKind } from '../../src/collector/tables/types.js';
import { closed, fold, serverOf, view } from '../helpers/links-views.js';

const NS_CLIENT = 4026531840;
const NS_SERVER = 4026532000;

function table(opts: ConstructorParameters<typeof LinkTableState>[0] = {}): LinkTableState {
  return new LinkTableState({ monoToEpochMs: (ns) => Number(ns / 1_000_000n), ...opts });
}

describe('link table', () => {
  it('counts a connection between two local sockets once, from the client', () => {
    const t = table();
    // The kernel wrote the server socket's facts into the client's entry (peer_*).
    const c = view({ bytesSent: 100, bytesReceived: 300, hasPid: true, pid: 7, comm: 'curl', srttUs: 250, peerPid: 9, peerComm: 'nginx', peerNetns: NS_SERVER });
    const s = serverOf(c, { hasPid: true, pid: 9, comm: 'nginx' });
    t.updateLive([s, c], 1000);
    expect(t.size()).toBe(1);
    const [l] = t.records();
    expect(l).toMatchObject({
      id: `tcp:${NS_CLIENT}/10.0.0.1>10.0.0.2:80`,
      bytesSent: 100,
      bytesReceived: 300,
      connections: { active: 1, closed: 0, failed: 0 },
      client: { ip: '10.0.0.1', pid: 7, process: 'curl', netns: `netns:[${NS_CLIENT}]`, netnsInode: NS_CLIENT },
      server: { ip: '10.0.0.2', port: 80, pid: 9, process: 'nginx', netnsInode: NS_SERVER },
      rttMs: 0.25,
      protocol: 'tcp',
    });
    t.addClosed([closed(c), closed(s)], 2000);
    expect(t.records()[0]).toMatchObject({ bytesSent: 100, bytesReceived: 300, connections: { active: 0, closed: 1, failed: 0 } });
  });

  it('takes the server process of an open local pair from the server view until the kernel moves it', () => {
    const t = table();
    // While both ends are open the kernel keeps the server's process in the server's own entry.
    const c = view({ bytesSent: 5, bytesReceived: 7, hasPid: true, pid: 7, comm: 'curl', peerNetns: NS_SERVER });
    const s = serverOf(c, { hasPid: true, pid: 9, comm: 'nginx' });
    t.updateLive([c], 1000);
    expect(t.records()[0]!.server.pid).toBeUndefined();
    t.updateLive([s, c], 2000);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, bytesReceived: 7, connections: { active: 1 }, server: { pid: 9, process: 'nginx', netnsInode: NS_SERVER } });
    // A server view whose client is not in the table (not read yet) changes nothing.
    const other = serverOf(view({ remotePort: 81 }), { hasPid: true, pid: 11, comm: 'other' });
    t.updateLive([other, s, c], 3000);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]!.server).toMatchObject({ pid: 9, process: 'nginx' });
    // A server that closed before the first read: its process reached the client's entry.
    const t2 = table();
    t2.updateLive([c], 1000);
    t2.updateLive([{ ...c, peerPid: 9, peerComm: 'nginx' }], 2000);
    expect(t2.records()[0]!.server).toMatchObject({ pid: 9, process: 'nginx' });
  });

  it('takes the server process of an open local pair from its slot when the server view has no entry', () => {
    const t = table();
    const c = view({ bytesSent: 5, bytesReceived: 7, hasPid: true, pid: 7, comm: 'curl', peerNetns: NS_SERVER });
    // A slot whose server has not sent or received yet, and one of a client not in the table.
    t.updateLive([c], 1000, [], [{ clientKey: c.key, pid: 0, comm: '' }, { clientKey: 'elsewhere:1', pid: 11, comm: 'other' }]);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]!.server.pid).toBeUndefined();
    t.updateLive([c], 2000, [], [{ clientKey: c.key, pid: 9, comm: 'nginx' }]);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, bytesReceived: 7, connections: { active: 1 }, server: { pid: 9, process: 'nginx', netnsInode: NS_SERVER } });
  });

  it('folds several connections into one link, closed ones kept', () => {
    const t = table();
    const views = [1, 2, 3].map(() => view({ bytesSent: 10, bytesReceived: 20 }));
    t.addClosed(views.slice(0, 2).map((v) => closed(v)), 1000);
    t.updateLive([views[2]!], 1000);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]).toMatchObject({ bytesSent: 30, bytesReceived: 60, connections: { active: 1, closed: 2, failed: 0 } });
  });

  it('turns a server-only view (remote client) around: its receive is the link\'s send', () => {
    const t = table();
    const s = view({ role: 'server', localIp: '10.0.0.2', localPort: 443, remoteIp: '192.0.2.7', remotePort: 50123, bytesSent: 900, bytesReceived: 40, netns: NS_SERVER });
    t.addClosed([closed(s)], 1000);
    const [l] = t.records();
    expect(l).toMatchObject({ bytesSent: 40, bytesReceived: 900, client: { ip: '192.0.2.7' }, server: { ip: '10.0.0.2', port: 443 }, connections: { closed: 1 } });
    expect(l!.client.netns).toBeUndefined();
  });

  it('counts a connect that never got established as failed, on its link', () => {
    const t = table();
    const f = view({ established: false, hasBase: false, remotePort: 6001, retransmits: 1 });
    t.addClosed([closed(f, { oldState: 2 })], 1000);
    expect(t.records()[0]).toMatchObject({ connections: { active: 0, closed: 0, failed: 1 }, retransmits: 1, server: { port: 6001 } });
  });

  it('adds the retransmits of both ends, but the bytes of one', () => {
    const t = table();
    const c = view({ bytesSent: 5, retransmits: 2, peerRetransmits: 3 });
    t.addClosed([closed(c)], 1000);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, retransmits: 5 });
  });

  it('still counts once when the kernel could not pair the two ends (tuple map full)', () => {
    const t = table();
    const c = view({ bytesSent: 5, retransmits: 2 });
    const s = serverOf(c, { peerLocal: false, retransmits: 3, hasPid: true, pid: 9, comm: 'nginx' });
    t.addClosed([closed(c), closed(s)], 1000);
    expect(t.size()).toBe(1);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, retransmits: 5, server: { process: 'nginx' }, connections: { closed: 1 } });
  });

  it('keeps the client tuple that pairs the ends only where the server address is on this host', () => {
    const local = new Set(['10.0.0.2']);
    const resolver: Resolver = { resolve: (f) => ({ ip: f.ip }), isLocal: (ip) => local.has(ip), close: () => undefined };
    const t = table({ resolver });
    const here = view({ bytesSent: 5 });
    const away = view({ remoteIp: '10.9.0.1', bytesSent: 5 });
    t.updateLive([here, away], 1000);
    // Two links, and the tuple of the one whose server can be here.
    expect(t.size()).toBe(2);
    expect(t.stats().bookkeeping).toBe(1);
    // Its unpaired server view still finds the link.
    t.updateLive([here, away, serverOf(here, { peerLocal: false, hasPid: true, pid: 9, comm: 'nginx' })], 2000);
    expect(t.size()).toBe(2);
    expect(t.records().find((r) => r.server.ip === '10.0.0.2')).toMatchObject({ bytesSent: 5, server: { ip: '10.0.0.2' } });
  });

  it('reads a poll in chunks as one: an unpaired server view in an earlier chunk than its client still counts once', () => {
    const whole = table();
    const chunked = table();
    const c = view({ bytesSent: 5, bytesReceived: 7, hasPid: true, pid: 3, comm: 'curl' });
    const s = serverOf(c, { peerLocal: false, hasPid: true, pid: 9, comm: 'nginx' });
    const other = view({ remoteIp: '10.0.0.3', bytesSent: 1 });
    whole.updateLive([s, other, c], 1000);
    chunked.updateLiveChunks([[s], [other], [c]], 1000);
    expect(chunked.size()).toBe(2);
    expect(chunked.records()).toEqual(whole.records());
    expect(chunked.records()[0]).toMatchObject({ bytesSent: 5, bytesReceived: 7, connections: { active: 1 } });
    // A view missing from a later read is gone from the table, chunked or not.
    whole.updateLive([c, s], 9000);
    chunked.updateLiveChunks([[c], [], [s]], 9000);
    expect(chunked.records()).toEqual(whole.records());
    expect(chunked.stats().liveViews).toBe(2);
  });

  it('ignores a view that a batch read returns after its close record arrived', () => {
    const t = table();
    const c = view({ bytesSent: 5 });
    t.addClosed([closed(c)], 1000);
    t.updateLive([c], 1100);
    expect(t.records()[0]!.connections).toEqual({ active: 0, closed: 1, failed: 0 });
  });

  it('keeps the bytes of a server view gone without a close record, and says so', () => {
    // A server view with its client elsewhere: its close comes as a record (client closes are
    // added up in the kernel instead).
    const t = table({ vanishGraceMs: 1000 });
    const c = view({ role: 'server', bytesReceived: 5 });
    t.updateLive([c], 1000);
    t.updateLive([], 1500);
    // Not open any more (its close record may be on the way), but its bytes stay meanwhile.
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, connections: { active: 0, closed: 0, failed: 0 } });
    t.updateLive([], 2600);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, connections: { active: 0, closed: 0, failed: 0 } });
    expect(t.stats().vanished).toBe(1);
  });

  it('counts a server view whose close record comes after it left the map as closed, not vanished', () => {
    const t = table({ vanishGraceMs: 1000 });
    const c = view({ role: 'server', bytesReceived: 5 });
    t.updateLive([c], 1000);
    t.updateLive([], 1500);
    t.addClosed([closed(c)], 1600);
    t.updateLive([], 2700);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, connections: { active: 0, closed: 1, failed: 0 } });
    expect(t.stats().vanished).toBe(0);
  });

  it('takes closed client connections added up in the kernel onto their link, with both processes', () => {
    const t = table();
    const f = fold({ pid: 42, comm: 'curl', closed: 1000, failed: 3, bytesSent: 1000, bytesReceived: 2000, retransmits: 4, srttUs: 250, peerPid: 7, peerComm: 'nginx', peerNetns: NS_SERVER });
    t.updateLive([], 5000, [f]);
    expect(t.records()).toEqual([
      expect.objectContaining({
        id: `tcp:${NS_CLIENT}/10.0.0.1>10.0.0.2:80`,
        client: expect.objectContaining({ ip: '10.0.0.1', pid: 42, process: 'curl', netnsInode: NS_CLIENT }),
        server: expect.objectContaining({ ip: '10.0.0.2', port: 80, pid: 7, process: 'nginx', netnsInode: NS_SERVER }),
        bytesSent: 1000,
        bytesReceived: 2000,
        connections: { active: 0, closed: 1000, failed: 3 },
        retransmits: 4,
        rttMs: 0.25,
        firstSeen: 1000,
        lastSeen: 3000,
      }),
    ]);
    // The next drain adds to what the link already holds.
    t.updateLive([], 6000, [fold({ pid: 42, comm: 'curl', closed: 1, bytesSent: 1, bytesReceived: 2 })]);
    expect(t.records()[0]).toMatchObject({ bytesSent: 1001, bytesReceived: 2002, connections: { active: 0, closed: 1001, failed: 3 } });
  });

  it('counts a client connection once when it leaves the map and its counts come added up', () => {
    const t = table();
    const c = view({ hasPid: true, pid: 42, bytesSent: 5, bytesReceived: 6 });
    const other = view({ hasPid: true, pid: 42, bytesSent: 1 });
    const seen: number[] = [];
    t.onChange(() => seen.push(t.records()[0]!.bytesSent));
    t.updateLive([c, other], 1000);
    // Drained and read in one poll: c is in the fold and gone from the read, never both.
    t.updateLive([other], 2000, [fold({ pid: 42, bytesSent: 5, bytesReceived: 6 })]);
    expect(t.records()[0]).toMatchObject({ bytesSent: 6, bytesReceived: 6, connections: { active: 1, closed: 1, failed: 0 } });
    // Gone from the read, its fold in the next drain: left at once, counted once when it comes.
    t.updateLive([], 3000);
    t.updateLive([], 4000, [fold({ pid: 42, bytesSent: 1 })]);
    expect(t.records()[0]).toMatchObject({ bytesSent: 6, connections: { active: 0, closed: 2, failed: 0 } });
    expect(t.stats().vanished).toBe(0);
    expect(Math.max(...seen)).toBe(6);
  });

  it('counts a client close record that comes after the connection left the map (fold map full)', () => {
    const t = table();
    const c = view({ bytesSent: 5 });
    t.updateLive([c], 1000);
    t.updateLive([], 2000);
    t.addClosed([closed(c)], 2100);
    expect(t.records()[0]).toMatchObject({ bytesSent: 5, connections: { active: 0, closed: 1, failed: 0 } });
  });

  it('leaves out folds of excluded processes and ports, and counts their corrections only with payload traced', () => {
    const t = table({ exclude: { pids: [42], serverPorts: [7317] } });
    t.updateLive([], 1000, [fold({ pid: 42 }), fold({ serverPort: 7317 }), fold({ pid: 9, corrections: 2 })]);
    expect(t.records().map((r) => r.server.port)).toEqual([80]);
    expect(t.stats().corrections).toBe(2);
    const old = table({ payloadTraced: false });
    old.updateLive([], 1000, [fold({ corrections: 2 })]);
    expect(old.stats().corrections).toBe(0);
  });

  it('shows connections from the socket table with roles from listeners, until traced', () => {
    const t = table();
    const client = { netns: NS_CLIENT, localIp: '10.0.0.1', localPort: 40100, remoteIp: '10.0.0.2', remotePort: 8080 };
    const server = { netns: NS_SERVER, localIp: '10.0.0.2', localPort: 8080, remoteIp: '10.0.0.1', remotePort: 40100 };
    // Listed server first: the table still counts the connection once, from its client.
    t.seedExisting([{ netns: NS_SERVER, ip: '0.0.0.0', port: 8080 }], [server, client], 1000);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]).toMatchObject({ client: { ip: '10.0.0.1' }, server: { ip: '10.0.0.2', port: 8080 }, connections: { active: 1 }, bytesSent: 0 });
    expect(t.stats().preexisting).toBe(2);
    // The tracer sees both sockets at their first send/recv, roles unknown to the kernel.
    const traced = view({ role: 'unknown', localPort: 40100, remotePort: 8080, bytesSent: 11, hasPid: true, pid: 5, comm: 'psql' });
    t.updateLive([serverOf(traced, { role: 'unknown', peerLocal: false, bytesReceived: 11 }), traced], 2000);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]).toMatchObject({ bytesSent: 11, client: { process: 'psql' }, connections: { active: 1 } });
    expect(t.stats().preexisting).toBe(0);
  });

  it('does not bring back a socket-table connection that closed before the table was seeded', () => {
    const t = table();
    const c = view({ role: 'unknown', localPort: 40200, remotePort: 8080, bytesSent: 3 });
    t.addClosed([closed(c)], 1000);
    t.seedExisting([], [{ netns: c.netns, localIp: c.localIp, localPort: 40200, remoteIp: c.remoteIp, remotePort: 8080 }], 1001);
    expect(t.records()[0]!.connections).toEqual({ active: 0, closed: 1, failed: 0 });
  });

  it('leaves out excluded processes and server ports', () => {
    const t = table({ exclude: { pids: [42], serverPorts: [7317] } });
    t.updateLive([view({ hasPid: true, pid: 42, comm: 'node' }), view({ remotePort: 7317 })], 1000);
    expect(t.size()).toBe(0);
  });

  it('ages out idle links with nothing open, not those with open connections', () => {
    const t = table({ idleTimeoutMs: 1000 });
    const live = view({ remotePort: 1, lastNs: 0n, startNs: 0n });
    t.updateLive([live], 0);
    t.addClosed([closed(view({ remotePort: 2, lastNs: 0n, startNs: 0n }), { endNs: 0n })], 0);
    expect(t.size()).toBe(2);
    t.expire(5000);
    expect(t.records().map((l) => l.server.port)).toEqual([1]);
  });

  it('reports topology and figure changes, and nothing when nothing changed', () => {
    const t = table();
    const kinds: ChangeKind[] = [];
    const off = t.onChange((k) => kinds.push(k));
    // Last activity in the kernel before the reads.
    const c = view({ bytesSent: 1, lastNs: 500_000_000n });
    t.updateLive([c], 1000);
    t.updateLive([{ ...c, bytesSent: 2 }], 1000);
    t.updateLive([{ ...c, bytesSent: 2 }], 1000);
    expect(kinds).toEqual(['topology', 'figures']);
    // Activity without payload (the kernel's last-activity time moved) is a change of the record.
    t.updateLive([{ ...c, bytesSent: 2, lastNs: 3_000_000_000n }], 1000);
    expect(kinds).toEqual(['topology', 'figures', 'figures']);
    expect(t.records()[0]!.lastSeen).toBe(3000);
    off();
    t.updateLive([{ ...c, bytesSent: 3 }], 1000);
    expect(kinds).toHaveLength(3);
  });

  it('computes rates over the window', () => {
    const t = table({ rateWindowMs: 10_000 });
    const c = view({ bytesSent: 0 });
    t.updateLive([c], 0);
    t.updateLive([{ ...c, bytesSent: 4000, bytesReceived: 2000 }], 2000);
    expect(t.records()[0]).toMatchObject({ sendRate: 2000, receiveRate: 1000 });
  });

  it('asks the resolver for endpoint names when it has one', () => {
    const seen: unknown[] = [];
    const resolver: Resolver = {
      resolve: (f) => {
        seen.push(f);
        return { ip: f.ip, name: `name-of-${f.ip}`, kind: 'process', ...(f.port ? { port: f.port } : {}) };
      },
      close: () => undefined,
    };
    const t = table({ resolver });
    t.updateLive([view({ hasPid: true, pid: 3, comm: 'curl', cgroupId: 99 })], 1000);
    const [l] = t.records();
    expect(l!.client.name).toBe('name-of-10.0.0.1');
    expect(l!.server).toMatchObject({ name: 'name-of-10.0.0.2', port: 80 });
    expect(seen[0]).toEqual({ ip: '10.0.0.1', netnsInode: NS_CLIENT, pid: 3, comm: 'curl', cgroupId: 99 });
  });

  it('changes a record in place, keeping its endpoints and counts while they stay', () => {
    const t = table();
    const c = view({ bytesSent: 1, lastNs: 500_000_000n, hasPid: true, pid: 3, comm: 'curl' });
    const other = view({ remoteIp: '10.0.0.3', lastNs: 500_000_000n });
    t.updateLive([c, other], 1000);
    const [a, b] = t.records();
    const { client, server, connections } = a!;
    const otherBefore = JSON.stringify(b);
    t.updateLive([{ ...c, bytesSent: 2 }, other], 1000);
    const [a2, b2] = t.records();
    expect(a2).toBe(a);
    expect(b2).toBe(b);
    expect(JSON.stringify(b2)).toBe(otherBefore);
    expect(a2!.bytesSent).toBe(2);
    expect(a2!.client).toBe(client);
    expect(a2!.server).toBe(server);
    expect(a2!.connections).toBe(connections);
    const wireBefore = JSON.parse(JSON.stringify(a2));
    // A side's facts moved: a new endpoint object, never the old one changed.
    t.updateLive([{ ...c, bytesSent: 2, pid: 4, comm: 'wget' }, other], 1000);
    const [a3] = t.records();
    expect(a3!.client).not.toBe(client);
    expect(client).toMatchObject({ pid: 3, process: 'curl' });
    expect(a3!.client).toMatchObject({ pid: 4, process: 'wget' });
    expect(a3!.server).toEqual(server);
    expect(JSON.parse(JSON.stringify(a3))).toEqual({ ...wireBefore, client: { ...wireBefore.client, pid: 4, process: 'wget' } });
    // Counts moved: a new counts object.
    t.addClosed([closed({ ...c, bytesSent: 2, pid: 4, comm: 'wget' })], 1000);
    expect(t.records()[0]!.connections).not.toBe(connections);
    expect(connections).toEqual({ active: 1, closed: 0, failed: 0 });
  });

  it('shows no process for an empty process name, and none of the unknown fields on the wire', () => {
    const t = table();
    t.updateLive([view({ hasPid: true, pid: 3, comm: '' })], 1000);
    const wire = JSON.parse(JSON.stringify(t.records()[0]));
    expect(wire.client).toEqual({ ip: '10.0.0.1', netnsInode: NS_CLIENT, netns: `netns:[${NS_CLIENT}]`, pid: 3 });
    expect(wire.server).toEqual({ ip: '10.0.0.2', port: 80 });
    expect('rttMs' in wire).toBe(false);
  });

  it('names the endpoints again once their names are 5 s old, replacing an endpoint only when its name moved', () => {
    let suffix = 'a';
    let asked = 0;
    const resolver: Resolver = {
      resolve: (f) => {
        asked += 1;
        return { ip: f.ip, name: `${f.ip}-${suffix}`, kind: 'process', ...(f.port ? { port: f.port } : {}) };
      },
      close: () => undefined,
    };
    const t = table({ resolver });
    const v = view({ lastNs: 500_000_000n });
    t.updateLive([v], 1000);
    const [first] = t.records();
    const { client, server } = first!;
    const wireBefore = JSON.parse(JSON.stringify(first));
    expect(asked).toBe(2);
    t.updateLive([v], 5999);
    expect(t.records()[0]).toBe(first);
    expect(asked).toBe(2);
    t.updateLive([v], 6000);
    expect(t.records()[0]!.client).toBe(client);
    expect(asked).toBe(4);
    suffix = 'b';
    expect(t.records()[0]!.client).toBe(client);
    t.updateLive([v], 11_000);
    const [renamed] = t.records();
    expect(asked).toBe(6);
    expect(renamed).toBe(first);
    expect(renamed!.client).not.toBe(client);
    expect(client.name).toBe('10.0.0.1-a');
    expect(renamed!.client.name).toBe('10.0.0.1-b');
    expect(renamed!.server).not.toBe(server);
    expect(renamed!.server).toMatchObject({ name: '10.0.0.2-b', port: 80 });
    expect({ ...JSON.parse(JSON.stringify(renamed)), client: undefined, server: undefined }).toEqual({ ...wireBefore, client: undefined, server: undefined });
  });

  it('gives the links to one server one endpoint object, and a server whose name moved its own', () => {
    let name = 'web';
    const resolver: Resolver = {
      resolve: (f) => ({ ip: f.ip, name: f.port ? name : f.ip, kind: 'process', ...(f.port ? { port: f.port } : {}) }),
      close: () => undefined,
    };
    const t = table({ resolver });
    const clients = ['10.0.0.1', '10.0.0.3', '10.0.0.4'].map((ip, i) => view({ localIp: ip, localPort: 40_000 + i, lastNs: 500_000_000n }));
    t.updateLive(clients, 1000);
    const [a, b, c] = t.records();
    expect(a!.server).toMatchObject({ ip: '10.0.0.2', port: 80, name: 'web' });
    expect(b!.server).toBe(a!.server);
    expect(c!.server).toBe(a!.server);
    expect(b!.client).not.toBe(a!.client);
    // Named again in a later period, still one object; another port is another server.
    t.updateLive([...clients, view({ localPort: 40_009, remotePort: 81, lastNs: 500_000_000n })], 7000);
    const later = t.records();
    expect(new Set(later.filter((l) => l.server.port === 80).map((l) => l.server)).size).toBe(1);
    expect(later.find((l) => l.server.port === 81)!.server).toMatchObject({ port: 81, name: 'web' });
    name = 'web-2';
    t.updateLive(clients, 13_000);
    const renamed = t.records().filter((l) => l.server.port === 80);
    expect(renamed.map((l) => l.server.name)).toEqual(['web-2', 'web-2', 'web-2']);
    expect(new Set(renamed.map((l) => l.server)).size).toBe(1);
  });

  it('keeps the sum of a link\'s open connections right whichever of them leaves', () => {
    const t = table({ vanishGraceMs: 1 });
    const conns = [1, 2, 3, 4].map((n) => view({ bytesSent: n * 10, bytesReceived: n, localPort: 50_000 }));
    t.updateLive(conns, 1000);
    expect(t.records()[0]).toMatchObject({ bytesSent: 100, bytesReceived: 10, connections: { active: 4 } });
    // The second closes, then the last, then the first: the one left is the third.
    t.addClosed([closed(conns[1]!)], 1100);
    t.addClosed([closed(conns[3]!)], 1200);
    t.addClosed([closed(conns[0]!)], 1300);
    t.updateLive([{ ...conns[2]!, bytesSent: 35 }], 1400);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]).toMatchObject({ bytesSent: 105, bytesReceived: 10, connections: { active: 1, closed: 3 } });
  });

  it('keeps loopback connections of two namespaces apart', () => {
    const t = table();
    const a = view({ netns: 1, localIp: '127.0.0.1', remoteIp: '127.0.0.1', localPort: 45000, remotePort: 9000, bytesSent: 1 });
    const b = view({ netns: 2, localIp: '127.0.0.1', remoteIp: '127.0.0.1', localPort: 45000, remotePort: 9000, bytesSent: 2 });
    // Namespace 2's server socket is not namespace 1's client's peer: it counts on its own.
    const bServer = serverOf(b, { netns: 2, peerLocal: false, bytesReceived: 2 });
    t.updateLive([a, bServer], 1000);
    expect(t.records().map((l) => l.bytesSent).sort()).toEqual([1, 2]);
  });

  it('forgets per-connection bookkeeping after a while, however many connections closed', () => {
    const t = table({ vanishGraceMs: 1000 });
    for (let i = 0; i < 10_000; i++) {
      const c = view({ bytesSent: 1, bytesReceived: 1 });
      if (i % 2) t.updateLive([c], i);
      t.addClosed([closed(c)], i);
    }
    expect(t.stats().bookkeeping).toBeGreaterThan(0);
    t.updateLive([], 20_000);
    t.updateLive([], 20_001);
    t.expire(20_002);
    expect(t.stats().bookkeeping).toBe(0);
    expect(t.records()[0]).toMatchObject({ bytesSent: 10_000, connections: { closed: 10_000, active: 0 } });
  });

  it('refuses nonsense timings', () => {
    expect(() => table({ rateWindowMs: 0 })).toThrow(/rateWindowMs/);
  });
});
