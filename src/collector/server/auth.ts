// Bearer tokens. Both sides are hashed first so timingSafeEqual sees equal lengths and the
// comparison time says nothing about the token, not even its length.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The token of an `Authorization: Bearer TOKEN` header; undefined without one, null when malformed. */
export function bearerToken(req: IncomingMessage): string | undefined | null {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

export type AuthVerdict = { ok: true } | { ok: false; message: string };

export function checkBearer(req: IncomingMessage, token: string): AuthVerdict {
  const given = bearerToken(req);
  if (given === undefined) return { ok: false, message: 'missing Authorization: Bearer header' };
  if (given === null) return { ok: false, message: 'Authorization header is not "Bearer TOKEN"' };
  return tokensEqual(given, token) ? { ok: true } : { ok: false, message: 'wrong token' };
}
