// Wrong --tls-cert / --tls-key files: weft-collector refuses them before anything starts, with one
// sentence naming the flag and the file, and exit code 2 like any other bad flag.
import { afterAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'weft-tls-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cert = fileURLToPath(new URL('../fixtures/tls/cert.pem', import.meta.url));
const key = fileURLToPath(new URL('../fixtures/tls/key.pem', import.meta.url));

function collector(certFile: string, keyFile: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/collector-main.ts', '--no-privsep', '--listen', '127.0.0.1:0', '--token-file', join(dir, 'token'), '--tls-cert', certFile, '--tls-key', keyFile], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr };
}

it('refuses missing, wrong and mismatched TLS files with a sentence and exit code 2', () => {
  const otherKey = join(dir, 'other-key.pem');
  writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const garbage = join(dir, 'garbage.pem');
  writeFileSync(garbage, 'not a pem file\n');
  const cases: [string, string, RegExp][] = [
    [join(dir, 'missing.pem'), key, /^weft-collector: --tls-cert: cannot read \S+missing\.pem \(ENOENT\)\n$/],
    [cert, dir, /^weft-collector: --tls-key: cannot read \S+ \(EISDIR\)\n$/],
    [garbage, key, /^weft-collector: --tls-cert: \S+garbage\.pem is not a PEM certificate \(no start line\)\n$/],
    [key, cert, /^weft-collector: --tls-cert: \S+key\.pem is not a PEM certificate/],
    [cert, garbage, /^weft-collector: --tls-key: \S+garbage\.pem is not a PEM private key/],
    [cert, otherKey, /^weft-collector: --tls-key: \S+other-key\.pem is not the key of the certificate in \S+cert\.pem \(key values mismatch\)\n$/],
  ];
  for (const [c, k, message] of cases) {
    const r = collector(c, k);
    expect(r, `--tls-cert ${c} --tls-key ${k}`).toMatchObject({ status: 2, stderr: expect.stringMatching(message) });
  }
});
