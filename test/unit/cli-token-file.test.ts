// The token file as people leave it: with a trailing newline, empty, or not a file at all.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readToken } from '../../src/cli/commands.js';

const dir = mkdtempSync(join(tmpdir(), 'w14-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => (writeFileSync(join(dir, name), text), join(dir, name));

describe('weft --token-file', () => {
  it('reads the token without the newline an editor or echo leaves', () => {
    expect(readToken(file('nl', 'abc123\n'))).toBe('abc123');
    expect(readToken(file('crlf', '  abc123\r\n\n'))).toBe('abc123');
  });

  it('says the file is empty rather than sending an empty token', () => {
    for (const text of ['', '\n', '  \n\t\n']) expect(() => readToken(file('empty', text))).toThrow(/^the token file .*empty is empty; pass --token-file PATH$/);
  });

  it('names the file and why it cannot be read', () => {
    mkdirSync(join(dir, 'adir'));
    expect(() => readToken(join(dir, 'missing'))).toThrow(/cannot read the token from .*missing \(ENOENT\)/);
    expect(() => readToken(join(dir, 'adir'))).toThrow(/cannot read the token from .*adir \(EISDIR\)/);
  });
});
