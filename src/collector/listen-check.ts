// --listen tried before anything starts: an address that cannot be bound is a bad flag, said in one
// sentence, not a libuv error once the kernel programs are loaded. The socket is closed again at
// once; the server binds its own.
import { createServer } from 'node:net';
import { ConfigError } from './config.js';

const WHY: Record<string, string> = {
  EADDRINUSE: 'another process listens on that port',
  EADDRNOTAVAIL: 'no interface of this host has that address',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EACCES: 'not allowed to listen there',
  EINVAL: 'not an address this host can listen on',
};

export function checkListen(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => {
      const where = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      reject(new ConfigError(`--listen ${where}: ${WHY[e.code ?? ''] ?? e.message} (${e.code ?? 'error'})`));
    });
    s.listen(port, host, () => s.close(() => resolve()));
  });
}
