// A --listen address that cannot be bound: weft-collector says so in one sentence naming the flag
// and exits 2 before anything starts. (Host names that do not resolve are not tried: that would ask a DNS server.)
import { afterAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'weft-listen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collector(listen: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/collector-main.ts', '--no-privsep', '--token-file', join(dir, 'token'), '--listen', listen], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stderr: r.stderr };
}

it('refuses a port in use and an address not on this host, with exit code 2', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  const port = (busy.address() as { port: number }).port;
  try {
    expect(collector(`127.0.0.1:${port}`)).toEqual({ status: 2, stderr: `weft-collector: --listen 127.0.0.1:${port}: another process listens on that port (EADDRINUSE)\n` });
    // TEST-NET-1: bound, never sent to.
    expect(collector('192.0.2.1:0')).toEqual({ status: 2, stderr: 'weft-collector: --listen 192.0.2.1:0: no interface of this host has that address (EADDRNOTAVAIL)\n' });
  } finally {
    busy.close();
  }
});
