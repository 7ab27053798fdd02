// Runs test/helpers/links-agent.py inside test hosts and waits for what it prints, with bounds.
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LinkRecord } from '../../src/protocol/index.js';
import type { LinkCollector } from '../../src/collector/link-collector.js';
import type { TestHost } from './netns.js';

export const AGENT = fileURLToPath(new URL('./links-agent.py', import.meta.url));
export const PYTHON = '/usr/bin/python3';

export interface Agent {
  proc: ChildProcess;
  /** Resolves with the first output line matching `re`; rejects on exit or after timeoutMs. */
  line(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Every output line so far that matches `re`. */
  lines(re: RegExp): string[];
  /** Resolves when the process exits with status 0. */
  done(timeoutMs?: number): Promise<void>;
  send(text: string): void;
  kill(): void;
}

export function startAgent(host: TestHost, args: string[]): Agent {
  const proc = host.spawn(PYTHON, [AGENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let exit: number | null | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  proc.on('exit', (code) => {
    exit = code;
    wake();
  });
  const wait = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(poll);
        reject(new Error(`agent ${args.join(' ')}: timed out waiting for ${what}; stderr: ${stderr}`));
      }, timeoutMs);
      const poll = (): void => {
        const v = check();
        if (v !== undefined) {
          clearTimeout(timer);
          waiters.delete(poll);
          resolve(v);
        } else if (exit !== undefined) {
          clearTimeout(timer);
          waiters.delete(poll);
          reject(new Error(`agent ${args.join(' ')} exited (${exit}) before ${what}; stderr: ${stderr}`));
        }
      };
      waiters.add(poll);
      poll();
    });
  return {
    proc,
    line: (re, timeoutMs = 20_000) => wait(() => lines.find((l) => re.test(l)), String(re), timeoutMs),
    lines: (re) => lines.filter((l) => re.test(l)),
    done: (timeoutMs = 30_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`agent ${args.join(' ')}: still running; stderr: ${stderr}`)), timeoutMs);
        const check = (): void => {
          if (exit === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          if (exit === 0) resolve();
          else reject(new Error(`agent ${args.join(' ')} exited ${exit}; stderr: ${stderr}`));
        };
        waiters.add(check);
        check();
      }),
    send: (text) => proc.stdin!.write(text),
    kill: () => {
      if (exit === undefined) proc.kill('SIGKILL');
    },
  };
}

/** Polls the collector until `pick` finds what is wanted, or fails with the last table seen. */
export async function waitForLinks<T>(
  collector: LinkCollector,
  pick: (links: LinkRecord[]) => T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    collector.pollNow();
    const found = pick(collector.records());
    if (found !== undefined) return found;
    if (Date.now() > until) {
      throw new Error(`links not as expected after ${timeoutMs} ms: ${JSON.stringify(collector.records(), null, 1)}\nhealth: ${JSON.stringify(collector.health())}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The link from a client address to a server address and port. */
export function linkBetween(links: LinkRecord[], clientIp: string, serverIp: string, port: number): LinkRecord[] {
  return links.filter((l) => l.client.ip === clientIp && l.server.ip === serverIp && l.server.port === port);
}

/**
 * Knocks on a closed port of the far end until it answers with a reset (at most 10 tries): a fresh
 * veth needs neighbour discovery (and IPv6 its link-local address) before a SYN goes through
 * without a retransmit. Call it before the collector starts: these refused connects are not data.
 */
export function warmUp(host: TestHost, ip: string): void {
  const code = [
    'import socket,sys',
    `s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)`,
    's.settimeout(1)',
    'try:\n s.connect((sys.argv[1],9))\nexcept ConnectionRefusedError:\n sys.exit(0)\nexcept OSError:\n sys.exit(1)',
  ].join('\n');
  for (let i = 0; i < 10; i++) {
    try {
      host.exec(PYTHON, ['-c', code, ip]);
      return;
    } catch {
      // no answer yet
    }
  }
  throw new Error(`${ip} does not answer from ${host.ns}`);
}
