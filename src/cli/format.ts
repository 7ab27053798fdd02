// Records as text for a terminal: tables for `weft links|flows`, one line per change for `weft watch`.
import { TCP_FLAG_NAMES, type Endpoint, type FlowRecord, type LinkRecord } from '../protocol/index.js';

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function endpoint(e: Endpoint | undefined, withPort = false): string {
  if (!e) return '?';
  const who = e.pod ? `${e.namespace ? `${e.namespace}/` : ''}${e.pod}` : (e.name ?? e.process ?? e.dns);
  const addr = withPort && e.port !== undefined ? (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`) : e.ip;
  return who && who !== e.ip ? `${addr} (${who})` : addr;
}

// Names come from process names, DNS answers and interface names that others choose: their control
// and bidirectional-override characters are shown as escapes, not handed to the terminal to obey.
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return ESCAPES[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`);
  });
}

export function table(headers: string[], rows: string[][]): string {
  const shown = rows.map((r) => r.map(printable));
  const widths = headers.map((h, i) => Math.max(h.length, ...shown.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...shown.map(line)].join('\n');
}

export function linksTable(records: LinkRecord[]): string {
  if (records.length === 0) return 'no links';
  return table(
    ['CLIENT', 'SERVER', 'PROTO', 'SENT', 'RECEIVED', 'CONNS (active/closed/failed)', 'RTT', 'RETRANS'],
    records.map((r) => [
      endpoint(r.client),
      endpoint(r.server, true),
      r.protocol,
      bytes(r.bytesSent),
      bytes(r.bytesReceived),
      `${r.connections.active}/${r.connections.closed}/${r.connections.failed}`,
      r.rttMs === undefined ? '-' : `${r.rttMs.toFixed(2)} ms`,
      String(r.retransmits),
    ]),
  );
}

export function flowsTable(records: FlowRecord[]): string {
  if (records.length === 0) return 'no flows';
  return table(
    ['INTERFACE', 'DIR', 'SOURCE', 'DESTINATION', 'PROTO', 'PACKETS', 'BYTES', 'PAYLOAD', 'FLAGS'],
    records.map((r) => [
      r.interface,
      r.direction,
      `${endpoint(r.srcEndpoint ?? { ip: r.src })}${r.srcPort ? `:${r.srcPort}` : ''}`,
      `${endpoint(r.dstEndpoint ?? { ip: r.dst })}${r.dstPort ? `:${r.dstPort}` : ''}`,
      r.protocol,
      String(r.packets),
      bytes(r.bytes),
      bytes(r.payloadBytes),
      tcpFlags(r.tcpFlags),
    ]),
  );
}

export function tcpFlags(f: number): string {
  const names = TCP_FLAG_NAMES.filter((_, i) => f & (1 << i));
  return names.length ? names.join(',') : '-';
}

export type ChangeEvent = 'added' | 'changed' | 'removed';
const MARK: Record<ChangeEvent, string> = { added: '+', changed: '~', removed: '-' };

/** One `weft watch` line, like `hubble observe`: time, what happened, who talked to whom, figures. */
export function changeLine(event: ChangeEvent, r: LinkRecord | FlowRecord, at: Date): string {
  const time = at.toISOString().slice(11, 23);
  if ('client' in r) {
    return printable(`${time} ${MARK[event]} ${endpoint(r.client)} -> ${endpoint(r.server, true)} ${r.protocol} sent ${bytes(r.bytesSent)} received ${bytes(r.bytesReceived)} conns ${r.connections.active}/${r.connections.closed}/${r.connections.failed}`);
  }
  return printable(`${time} ${MARK[event]} ${r.interface} ${r.direction} ${r.src}:${r.srcPort} -> ${r.dst}:${r.dstPort} ${r.protocol} ${r.packets} pkts ${bytes(r.bytes)} ${tcpFlags(r.tcpFlags)}`);
}
