// Plain-data socket views and close records for the link table's unit tests.
import type { CloseRecord, ConnView, FoldRecord } from '../../src/collector/kernel/links-records.js';

let next = 1;

export function view(over: Partial<ConnView> = {}): ConnView {
  const n = next++;
  return {
    key: `k${n}`,
    startNs: 1_000_000_000n,
    lastNs: 2_000_000_000n,
    bytesSent: 0,
    bytesReceived: 0,
    cgroupId: 0,
    baseSnd: 1000,
    baseRcv: 5000,
    pid: 0,
    comm: '',
    netns: 4026531840,
    retransmits: 0,
    srttUs: 0,
    family: 2,
    localIp: '10.0.0.1',
    localPort: 40000 + n,
    remoteIp: '10.0.0.2',
    remotePort: 80,
    role: 'client',
    established: true,
    finIn: false,
    peerLocal: false,
    hasBase: true,
    hasPid: false,
    peerKey: '',
    peerPid: 0,
    peerComm: '',
    peerNetns: 0,
    peerRetransmits: 0,
    ...over,
  };
}

/** The server side of `client`'s connection, as the kernel would report it. */
export function serverOf(client: ConnView, over: Partial<ConnView> = {}): ConnView {
  return view({
    netns: 4026532000,
    localIp: client.remoteIp,
    localPort: client.remotePort,
    remoteIp: client.localIp,
    remotePort: client.localPort,
    bytesSent: client.bytesReceived,
    bytesReceived: client.bytesSent,
    role: 'server',
    peerLocal: true,
    peerKey: client.key,
    ...over,
  });
}

/** A close record whose sequence numbers agree with the traced bytes (FINs both ways). */
export function closed(v: ConnView, over: Partial<CloseRecord> = {}): CloseRecord {
  const fin = v.role === 'server' ? { oldState: 9, finIn: true } : { oldState: 5, finIn: false };
  const finalView = { ...v, finIn: v.finIn || fin.finIn };
  return {
    view: finalView,
    endNs: 3_000_000_000n,
    endSnd: (v.baseSnd + v.bytesSent + 1) % 2 ** 32,
    endRcv: (v.baseRcv + v.bytesReceived + 1) % 2 ** 32,
    skErr: 0,
    oldState: fin.oldState,
    sockDone: true,
    ...over,
  };
}

/** What the kernel adds up for closed client connections of one link and process (defaults: `view()`'s link). */
export function fold(over: Partial<FoldRecord> = {}): FoldRecord {
  return {
    family: 2,
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    serverPort: 80,
    netns: 4026531840,
    pid: 0,
    comm: '',
    cgroupId: 0,
    bytesSent: 0,
    bytesReceived: 0,
    closed: 1,
    failed: 0,
    retransmits: 0,
    corrections: 0,
    firstNs: 1_000_000_000n,
    lastNs: 3_000_000_000n,
    srttUs: 0,
    peerPid: 0,
    peerNetns: 0,
    peerComm: '',
    ...over,
  };
}
