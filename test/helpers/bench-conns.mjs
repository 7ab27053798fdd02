// Open connections as a read of the kernel's map gives them, for the benches that feed the link
// table (plain JavaScript: bench-privsep.mjs runs under node without a TypeScript loader).
import { readdirSync } from 'node:fs';

/**
 * The processes the connections belong to: real ones of this machine (the resolver reads their
 * /proc entries), fifty at most, as on a node where a few processes hold many connections.
 */
const PIDS = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => pid !== process.pid).slice(0, 50);

/**
 * Connection n as decodeConns() gives it: a client on this host (its own address, so its own link)
 * to a server elsewhere, `round` bytes further each round.
 */
export function openConnection(n, round, port = 8080) {
  return {
    key: ['ffff8881', n.toString(16).padStart(8, '0'), ':', 1_000_000_000 + n].join(''),
    startNs: 1_000_000_000n + BigInt(n),
    lastNs: 2_000_000_000n + BigInt(round),
    bytesSent: 100 * n + round,
    bytesReceived: 1000 * n + 2 * round,
    cgroupId: 4242,
    baseSnd: 0,
    baseRcv: 0,
    pid: PIDS[n % PIDS.length],
    comm: 'curl',
    netns: 4026531840,
    retransmits: 0,
    srttUs: 100 + (n % 50),
    family: 2,
    localIp: [10, 51 + (n >> 16), (n >> 8) & 255, n & 255].join('.'),
    localPort: 32768 + (n % 28_000),
    remoteIp: '10.50.255.1',
    remotePort: port,
    role: 'client',
    established: true,
    finIn: false,
    peerLocal: false,
    hasBase: false,
    hasPid: true,
    peerKey: '',
    peerPid: 0,
    peerComm: '',
    peerNetns: 0,
    peerRetransmits: 0,
  };
}
