// A WebSocket message's text, in whichever form ws hands the bytes over.
import type WebSocket from 'ws';
import { wireText } from '../protocol/wire-text.js';

export function messageText(data: WebSocket.RawData): string {
  return wireText(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
}
