// --tls-cert and --tls-key checked at start, before any program is loaded: each file readable and
// what it claims to be, and the key the certificate's. Left to the server, a wrong file came out as
// an OpenSSL error code from the server process once the kernel programs were attached.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from './config.js';

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`${flag}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** OpenSSL's reason without its code: "error:0480006C:PEM routines::no start line" → "no start line". */
const reason = (e: unknown): string => (e as Error).message.replace(/^error:[0-9A-F]+:[^:]*::?/, '');

export function checkTlsFiles(tls: { certFile: string; keyFile: string }): void {
  const cert = read('--tls-cert', tls.certFile);
  const key = read('--tls-key', tls.keyFile);
  try {
    createSecureContext({ cert });
  } catch (e) {
    throw new ConfigError(`--tls-cert: ${tls.certFile} is not a PEM certificate (${reason(e)})`);
  }
  try {
    createSecureContext({ key });
  } catch (e) {
    throw new ConfigError(`--tls-key: ${tls.keyFile} is not a PEM private key without a passphrase (${reason(e)})`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (e) {
    throw new ConfigError(`--tls-key: ${tls.keyFile} is not the key of the certificate in ${tls.certFile} (${reason(e)})`);
  }
}
