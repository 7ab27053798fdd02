// Connections from the socket table (open before the collector started) as socket views, so the
// link table treats them like traced ones until the tracer sees them itself.
import type { ConnView } from '../kernel/links-records.js';
import type { SocketTuple } from './links-roles.js';

/** One socket by namespace and both ends: how a socket-table entry finds its traced view. */
export function socketKey(t: Pick<SocketTuple, 'netns' | 'localIp' | 'localPort' | 'remoteIp' | 'remotePort'>): string {
  return `${t.netns}|${t.localIp}:${t.localPort}|${t.remoteIp}:${t.remotePort}`;
}

/** A view with no counts yet and its role left to the listeners. */
export function existingView(t: SocketTuple): ConnView {
  return {
    key: `pre:${socketKey(t)}`,
    startNs: 0n,
    lastNs: 0n,
    bytesSent: 0,
    bytesReceived: 0,
    cgroupId: 0,
    baseSnd: 0,
    baseRcv: 0,
    pid: 0,
    comm: '',
    netns: t.netns,
    retransmits: 0,
    srttUs: 0,
    family: t.localIp.includes(':') ? 10 : 2,
    localIp: t.localIp,
    localPort: t.localPort,
    remoteIp: t.remoteIp,
    remotePort: t.remotePort,
    role: 'unknown',
    established: true,
    finIn: false,
    peerLocal: false,
    hasBase: false,
    hasPid: false,
    peerKey: '',
    peerPid: 0,
    peerComm: '',
    peerNetns: 0,
    peerRetransmits: 0,
  };
}
