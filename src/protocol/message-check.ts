// What is wrong with a server message, in the parts a client reads: a snapshot without records or
// a hello without a heartbeat would otherwise throw inside the socket's message handler (leaving a
// panel loading for ever, or a weft command waiting) or set a ping timer running flat out. Shared
// by the plugin and the `weft` CLI.
import type { ServerMessage } from './messages.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function records(v: unknown, name: string): string | undefined {
  if (!Array.isArray(v)) {
    return `"${name}" is not a list`;
  }
  const i = v.findIndex((r) => !isObject(r) || typeof r.id !== 'string');
  return i < 0 ? undefined : `${name}[${i}] is not a record with a string "id"`;
}

/** A short phrase saying what is missing or wrong, or undefined when the message can be used. */
export function malformed(m: ServerMessage): string | undefined {
  const v = m as unknown as Record<string, unknown>;
  switch (m.type) {
    case 'hello':
      // Past 2^31 ms a timer fires at once: a ping timer at half of it would run flat out too.
      return isNumber(v.heartbeatMs) && v.heartbeatMs > 0 && v.heartbeatMs < 2 ** 31 ? undefined : '"heartbeatMs" is not a usable interval';
    case 'snapshot':
      return typeof v.sub !== 'string' || !isNumber(v.seq) || !isNumber(v.time) ? '"sub", "seq" or "time" is missing' : records(v.records, 'records');
    case 'delta':
      if (typeof v.sub !== 'string' || !isNumber(v.seq) || !isNumber(v.time)) {
        return '"sub", "seq" or "time" is missing';
      }
      if (!Array.isArray(v.remove) || v.remove.some((id) => typeof id !== 'string')) {
        return '"remove" is not a list of ids';
      }
      return records(v.upsert, 'upsert');
    case 'result':
      return typeof v.id !== 'string' ? '"id" is missing' : records(v.records, 'records');
    case 'values':
      return typeof v.id === 'string' && Array.isArray(v.values) && v.values.every((x) => typeof x === 'string') ? undefined : '"values" is not a list of strings';
    default:
      return undefined;
  }
}
