// `weft watch` follows until interrupted. When the collector ends it instead (stops, drops the
// socket, refuses the subscription, sends garbage), weft says why in one line on stderr and exits
// 1; stdout keeps only records, so `weft watch --json` stays a stream of JSON lines.
import { describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fakeCollector, hello, linkRecord, snapshot, useFakes, weft } from '../helpers/fake-collector.js';
import { TOKEN, startTestServer } from '../helpers/server.js';

const { tokenFile } = useFakes(TOKEN);

/** weft watch --json against a fake whose subscription answer is `then`, run after the first snapshot. */
async function watchThen(then: (ws: Parameters<Parameters<typeof fakeCollector>[0]>[0]) => void): Promise<Awaited<ReturnType<typeof weft>>> {
  const fake = await fakeCollector((ws, subscribed) => {
    ws.send(hello());
    subscribed((m) => {
      ws.send(snapshot(m.sub!, [linkRecord(1)]));
      setTimeout(() => then(ws), 200);
    });
  });
  return weft(['watch', '--json', '--server', fake.url, '--token-file', tokenFile], { limitMs: 8000 });
}

function jsonLines(stdout: string): void {
  const lines = stdout.split('\n').filter(Boolean);
  expect(lines.length).toBeGreaterThanOrEqual(1);
  for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
}

describe('weft watch when the collector ends it', () => {
  it('says the collector stopped and exits 1 when a real collector shuts down', async () => {
    const t = await startTestServer();
    t.links.upsert([linkRecord(1)]);
    const run = weft(['watch', '--json', '--server', t.server.wsUrl, '--token-file', tokenFile], {
      limitMs: 8000,
      onStart: (p) => p.stdout!.once('data', () => void t.server.close('collector stopped (SIGTERM)')),
    });
    const r = await run;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    jsonLines(r.stdout);
    expect(r.stderr).toBe('weft: collector stopped (SIGTERM) (shutting-down)\n');
  });

  it('says the connection was lost when the socket drops', async () => {
    const r = await watchThen((ws) => (ws as unknown as { _socket: Socket })._socket.destroy());
    expect(r.code).toBe(1);
    jsonLines(r.stdout);
    expect(r.stderr).toBe('weft: the connection to the collector was lost (1006)\n');
  });

  it('gives the close code and reason of a close it did not ask for', async () => {
    const r = await watchThen((ws) => ws.close(4000, 'maintenance'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('weft: the collector closed the connection (4000: maintenance)\n');
  });

  it('says what the collector sent that is not a protocol message', async () => {
    const r = await watchThen((ws) => ws.send('{"type":"delta",'));
    expect(r.code).toBe(1);
    jsonLines(r.stdout);
    expect(r.stderr).toBe('weft: the collector sent something that is not a protocol message (malformed)\n');
  });

  it('says why a subscription was refused', async () => {
    const r = await watchThen((ws) => ws.send(JSON.stringify({ type: 'error', code: 'bad-request', message: 'subscribe: no such table', ref: 'watch' })));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('weft: subscribe: no such table (bad-request)\n');
  });
});

describe('weft watch interrupted', () => {
  it('ends quietly with exit 0 on SIGINT', async () => {
    const fake = await fakeCollector((ws, subscribed) => {
      ws.send(hello());
      subscribed((m) => ws.send(snapshot(m.sub!, [linkRecord(1)])));
    });
    const r = await weft(['watch', '--server', fake.url, '--token-file', tokenFile], { limitMs: 8000, onStart: (p) => p.stdout!.once('data', () => p.kill('SIGINT')) });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\+ 10\.51\.0\.1 \(client-1\) -> 10\.51\.255\.1:8080 \(web\)/);
  });

  it('ends at once on SIGINT while still waiting for the hello', async () => {
    let weftProcess: ChildProcess | undefined;
    // The hello comes late; the interrupt comes while weft waits for it. Lost, weft would go on watching.
    const fake = await fakeCollector((ws, subscribed) => {
      weftProcess!.kill('SIGINT');
      setTimeout(() => ws.send(hello()), 1500);
      subscribed((m) => ws.send(snapshot(m.sub!, [linkRecord(1)])));
    });
    const r = await weft(['watch', '--server', fake.url, '--token-file', tokenFile], { limitMs: 8000, onStart: (p) => (weftProcess = p) });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
  }, 12_000);
});
