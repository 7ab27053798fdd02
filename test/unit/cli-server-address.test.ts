// --server as people type it: HOST:PORT, a ws/wss or http/https URL; anything else is refused
// with a sentence that repeats what was given and says what is expected.
import { describe, expect, it } from 'vitest';
import { socketUrl } from '../../src/cli/client.js';

describe('weft --server', () => {
  it('turns the usual spellings into the WebSocket URL', () => {
    expect(socketUrl('127.0.0.1:7317')).toBe('ws://127.0.0.1:7317/ws');
    expect(socketUrl('http://127.0.0.1:7317')).toBe('ws://127.0.0.1:7317/ws');
    expect(socketUrl('https://collector:7317/')).toBe('wss://collector:7317/ws');
    expect(socketUrl('wss://[::1]:7317/ws')).toBe('wss://[::1]:7317/ws');
  });

  it('refuses what is not a collector address', () => {
    for (const bad of ['', 'ws://', 'ws://127.0.0.1:99999', ':::', 'ftp://127.0.0.1:7317', 'file:///etc/passwd']) {
      expect(() => socketUrl(bad), bad).toThrow(`"${bad}" is not a collector address: give HOST:PORT, ws://HOST:PORT or wss://HOST:PORT`);
    }
  });
});
