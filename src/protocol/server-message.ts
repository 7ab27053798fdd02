// A WebSocket text frame from the collector as a message, or undefined when it is not one: text
// that is not JSON, or JSON that is not an object with a type (null, a number), which would
// otherwise throw inside a client's event handler and leave its caller waiting. Shared by the
// plugin and the `weft` CLI.
import type { ServerMessage } from './messages.js';

export function parseServerMessage(data: unknown): ServerMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(String(data));
  } catch {
    return undefined;
  }
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' ? (m as ServerMessage) : undefined;
}
