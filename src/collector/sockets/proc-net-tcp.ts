// Parses /proc/net/tcp and /proc/net/tcp6: the kernel's socket table of one network namespace.
import { addressFromBytes, AF_INET, AF_INET6 } from '../tables/address.js';

export const TCP_ESTABLISHED = 0x01;
export const TCP_CLOSE_WAIT = 0x08;
export const TCP_LISTEN = 0x0a;

export interface ProcTcpSocket {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  state: number;
  inode: number;
}

/**
 * Every socket line of the file. Addresses are printed as 32-bit words in host byte order
 * (little-endian here); IPv4-mapped IPv6 comes out as IPv4. Malformed lines are an error that
 * names the line, never a silently wrong entry.
 */
export function parseProcNetTcp(text: string, family: 4 | 6): ProcTcpSocket[] {
  const out: ProcTcpSocket[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const f = line.split(/\s+/);
    const local = parseAddr(f[1], family, i);
    const remote = parseAddr(f[2], family, i);
    const state = Number.parseInt(f[3] ?? '', 16);
    const inode = Number(f[9]);
    if (!Number.isFinite(state) || !Number.isFinite(inode)) throw new Error(`tcp${family === 6 ? '6' : ''} line ${i}: bad state or inode: ${line}`);
    out.push({ localIp: local.ip, localPort: local.port, remoteIp: remote.ip, remotePort: remote.port, state, inode });
  }
  return out;
}

function parseAddr(field: string | undefined, family: 4 | 6, line: number): { ip: string; port: number } {
  const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(field ?? '');
  const hexLen = family === 4 ? 8 : 32;
  if (!m || m[1]!.length !== hexLen) throw new Error(`tcp${family === 6 ? '6' : ''} line ${line}: bad address ${JSON.stringify(field)}`);
  const bytes = Buffer.alloc(16);
  for (let w = 0; w < hexLen / 8; w++) {
    bytes.writeUInt32LE(Number.parseInt(m[1]!.slice(w * 8, w * 8 + 8), 16), w * 4);
  }
  return { ip: addressFromBytes(family === 4 ? AF_INET : AF_INET6, bytes), port: Number.parseInt(m[2]!, 16) };
}
