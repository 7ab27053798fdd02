// Which counters the history keeps for each table, and how a range's amounts read back as records.
import type { FlowRecord, LinkRecord } from '../../protocol/index.js';
import type { HistoryFigures } from './history.js';

const seconds = (from: number, to: number): number => Math.max(0.001, (to - from) / 1000);

export const linkFigures: HistoryFigures<LinkRecord> = {
  names: ['bytesSent', 'bytesReceived'],
  read(r, out) {
    out[0] = r.bytesSent;
    out[1] = r.bytesReceived;
  },
  answer(r, moved, from, to) {
    const s = seconds(from, to);
    return { ...r, bytesSent: moved[0]!, bytesReceived: moved[1]!, sendRate: moved[0]! / s, receiveRate: moved[1]! / s };
  },
};

export const flowFigures: HistoryFigures<FlowRecord> = {
  names: ['bytes', 'packets', 'payloadBytes'],
  read(r, out) {
    out[0] = r.bytes;
    out[1] = r.packets;
    out[2] = r.payloadBytes;
  },
  answer(r, moved, from, to) {
    return { ...r, bytes: moved[0]!, packets: moved[1]!, payloadBytes: moved[2]!, rate: moved[0]! / seconds(from, to) };
  },
};
