// `weft-collector` as a process for the integration tests: started from the sources (over the real
// kernel tables, or over memory tables with test/helpers/collector-main.ts), its output kept for
// assertions, and the TC links it holds read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface CollectorProcess {
  p: ChildProcess;
  out(): string;
  /** Waits (bounded) for a line of output matching `re`. */
  line(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** The WebSocket URL it prints once serving. */
  wsUrl(): Promise<string>;
  exited: Promise<number | null>;
}

export function startCollector(args: string[], env: Record<string, string> = {}, script = 'src/collector/cli.ts'): CollectorProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env } });
  let out = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  const line = async (re: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> => {
    for (let waited = 0; waited < timeoutMs; waited += 100) {
      const m = re.exec(out);
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no line matching ${re} within ${timeoutMs} ms; weft-collector said:\n${out}`);
  };
  return { p, out: () => out, line, wsUrl: async () => (await line(/WebSocket (ws:\/\/[^\s,)]+)/))[1]!, exited };
}

/** Ids of the tcx links process `pid` holds on interface `ifindex`. */
export function tcLinksOf(pid: number, ifindex: string): string[] {
  const ids: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    if (/^link_type:\s+tcx$/m.test(info) && new RegExp(`^ifindex:\\s+${ifindex}$`, 'm').test(info)) ids.push(/^link_id:\s+(\d+)$/m.exec(info)![1]!);
  }
  return ids;
}

/** Waits (bounded) until `pid` holds at least two tcx links (ingress and egress) on `ifindex`. */
export async function waitForTcLinks(pid: number, ifindex: string): Promise<string[]> {
  let ids: string[] = [];
  for (let i = 0; i < 50 && ids.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ids = tcLinksOf(pid, ifindex);
  }
  return ids;
}
