// The collector's bearer token: read from --token-file, or generated once and kept (mode 0600) so
// restarts keep it and whoever configures Grafana can copy it from there.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export function defaultTokenPath(env = process.env, root = process.getuid?.() === 0): string {
  if (root) return '/var/lib/weft/token';
  const state = env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(state, 'weft', 'token');
}

export interface LoadedToken {
  token: string;
  path: string;
  created: boolean;
  /** Set when the file is readable by others than its owner. */
  warning?: string;
}

/** An fs error as one sentence naming the token file, not Node's "EISDIR: illegal operation on a directory, read". */
const fileError = (what: string, path: string, e: unknown): Error => new Error(`cannot ${what} the token file ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);

export function loadOrCreateToken(path: string): LoadedToken {
  if (existsSync(path)) {
    let token: string;
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch (e) {
      throw fileError('read', path, e);
    }
    if (token.length < 16) throw new Error(`token file ${path} holds ${token.length} characters; a token needs at least 16`);
    // Clients send it in an Authorization header, which cannot carry these: no client could log in.
    if (/[^\x21-\x7e]/.test(token)) throw new Error(`token file ${path} holds spaces, line breaks or characters other than printable ASCII; a token is one word on one line`);
    const mode = statSync(path).mode & 0o777;
    const warning = mode & 0o077 ? `token file ${path} has mode ${mode.toString(8)}; run chmod 600 ${path}` : undefined;
    return { token, path, created: false, ...(warning ? { warning } : {}) };
  }
  const token = randomBytes(32).toString('base64url');
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
  } catch (e) {
    throw fileError('write', path, e);
  }
  return { token, path, created: true };
}
