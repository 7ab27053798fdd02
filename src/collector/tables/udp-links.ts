// UDP conversations seen by the flow table, as `udp` links. The server is the side whose port is
// bound for listening on this host; when neither is (both ends remote, or the listener's netns is
// not visible), the lower port, since clients send from high ephemeral ports.
import type { Endpoint, FlowRecord, LinkRecord } from '../../protocol/index.js';
import { byId } from '../../protocol/record-order.js';

export interface UdpListener {
  /** Bound address; `0.0.0.0`, `::` or absent = any. */
  ip?: string;
  port: number;
}

export interface UdpLinkOptions {
  listeners: readonly UdpListener[];
  nowMs: number;
  /** A conversation without packets for this long counts as closed. */
  idleTimeoutMs: number;
}

const ANY = new Set(['0.0.0.0', '::', '']);

/** Bound addresses by port (undefined = any address): one lookup per flow end, not a scan of every listener. */
function byPort(listeners: readonly UdpListener[]): Map<number, Set<string | undefined>> {
  const ports = new Map<number, Set<string | undefined>>();
  for (const l of listeners) {
    let ips = ports.get(l.port);
    if (!ips) ports.set(l.port, (ips = new Set()));
    ips.add(l.ip === undefined || ANY.has(l.ip) ? undefined : l.ip);
  }
  return ports;
}

function listens(ports: Map<number, Set<string | undefined>>, ip: string, port: number): boolean {
  const ips = ports.get(port);
  return ips !== undefined && (ips.has(undefined) || ips.has(ip));
}

interface Conversation {
  client: Endpoint;
  server: Endpoint;
  sent: number;
  received: number;
  sendRate: number;
  receiveRate: number;
  clientPorts: Map<number, number>; // client port → last seen
  firstSeen: number;
  lastSeen: number;
}

/** Flow records (any protocol; duplicates and non-UDP are skipped) → one `udp` link per client, server and port. */
export function udpLinks(flows: readonly FlowRecord[], opts: UdpLinkOptions): LinkRecord[] {
  const convs = new Map<string, Conversation>();
  const ports = byPort(opts.listeners);
  for (const f of flows) {
    if (f.protocol !== 'udp' || f.duplicate) continue;
    const dstServes = listens(ports, f.dst, f.dstPort);
    const srcServes = listens(ports, f.src, f.srcPort);
    const toServer = dstServes || (!srcServes && f.dstPort <= f.srcPort);
    const [clientIp, clientPort, clientEp] = toServer ? [f.src, f.srcPort, f.srcEndpoint] : [f.dst, f.dstPort, f.dstEndpoint];
    const [serverIp, serverPort, serverEp] = toServer ? [f.dst, f.dstPort, f.dstEndpoint] : [f.src, f.srcPort, f.srcEndpoint];
    const id = `udp:${clientIp}>${serverIp}:${serverPort}`;
    let c = convs.get(id);
    if (!c) {
      c = {
        client: { ...clientEp, ip: clientIp },
        server: { ...serverEp, ip: serverIp, port: serverPort },
        sent: 0,
        received: 0,
        sendRate: 0,
        receiveRate: 0,
        clientPorts: new Map(),
        firstSeen: f.firstSeen,
        lastSeen: f.lastSeen,
      };
      convs.set(id, c);
    }
    if (toServer) {
      c.sent += f.payloadBytes;
      c.sendRate += f.rate;
    } else {
      c.received += f.payloadBytes;
      c.receiveRate += f.rate;
    }
    c.clientPorts.set(clientPort, Math.max(c.clientPorts.get(clientPort) ?? 0, f.lastSeen));
    c.firstSeen = Math.min(c.firstSeen, f.firstSeen);
    c.lastSeen = Math.max(c.lastSeen, f.lastSeen);
  }
  const links: LinkRecord[] = [];
  for (const [id, c] of convs) {
    let active = 0;
    for (const last of c.clientPorts.values()) if (opts.nowMs - last <= opts.idleTimeoutMs) active += 1;
    links.push({
      id,
      client: c.client,
      server: c.server,
      protocol: 'udp',
      bytesSent: c.sent,
      bytesReceived: c.received,
      sendRate: c.sendRate,
      receiveRate: c.receiveRate,
      connections: { active, closed: c.clientPorts.size - active, failed: 0 },
      retransmits: 0,
      firstSeen: c.firstSeen,
      lastSeen: c.lastSeen,
    });
  }
  return links.sort(byId);
}
