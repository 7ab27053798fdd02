// TCP flows confirm the link table from the wire: for each TCP link, the flows (not duplicates)
// between its client address and its server address and port, both ways. A link with none was not
// seen on any watched interface (e.g. it stays on loopback, or its interface is not selected).
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';

export interface WireFigures {
  /** IP packets and bytes seen on the wire, client → server and server → client. */
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Transport payload seen on the wire each way (retransmissions included). */
  payloadSent: number;
  payloadReceived: number;
}

const key = (clientIp: string, serverIp: string, serverPort: number): string => `${clientIp}>${serverIp}:${serverPort}`;

/** Wire figures by link id, for the TCP links that flows confirm. */
export function confirmTcpLinks(links: readonly LinkRecord[], flows: readonly FlowRecord[]): Map<string, WireFigures> {
  const byEnds = new Map<string, LinkRecord[]>();
  for (const l of links) {
    if (l.protocol !== 'tcp' || l.server.port === undefined) continue;
    const k = key(l.client.ip, l.server.ip, l.server.port);
    const same = byEnds.get(k);
    if (same) same.push(l);
    else byEnds.set(k, [l]);
  }
  const out = new Map<string, WireFigures>();
  const add = (l: LinkRecord, f: FlowRecord, toServer: boolean): void => {
    let w = out.get(l.id);
    if (!w) {
      w = { packetsSent: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, payloadSent: 0, payloadReceived: 0 };
      out.set(l.id, w);
    }
    if (toServer) {
      w.packetsSent += f.packets;
      w.bytesSent += f.bytes;
      w.payloadSent += f.payloadBytes;
    } else {
      w.packetsReceived += f.packets;
      w.bytesReceived += f.bytes;
      w.payloadReceived += f.payloadBytes;
    }
  };
  for (const f of flows) {
    if (f.protocol !== 'tcp' || f.duplicate) continue;
    for (const l of byEnds.get(key(f.src, f.dst, f.dstPort)) ?? []) add(l, f, true);
    for (const l of byEnds.get(key(f.dst, f.src, f.srcPort)) ?? []) add(l, f, false);
  }
  return out;
}
