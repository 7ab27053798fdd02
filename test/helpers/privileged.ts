// Tests that need root and BPF. Where they cannot run they are skipped — except when
// WEFT_REQUIRE_PRIVILEGED=1 (CI), where a skip would hide a broken build, so they fail instead.
import { describe, it } from 'vitest';
import { existsSync } from 'node:fs';

function missingPrivilege(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF';
  return undefined;
}

export const privilegeProblem = missingPrivilege();
export const required = process.env.WEFT_REQUIRE_PRIVILEGED === '1';

/** describe() for tests that need root, BPF and network namespaces. */
export function describePrivileged(name: string, fn: () => void): void {
  if (!privilegeProblem) {
    describe(name, fn);
  } else if (required) {
    describe(name, () => {
      it('can run privileged tests', () => {
        throw new Error(`privileged tests are required here (WEFT_REQUIRE_PRIVILEGED=1) but cannot run: ${privilegeProblem}`);
      });
    });
  } else {
    describe.skip(`${name} (skipped: ${privilegeProblem})`, fn);
  }
}
