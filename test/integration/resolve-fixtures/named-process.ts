// Test programs that really carry a name: a node process that sets process.title (which is also
// its comm, what the kernel and /proc call it), started inside a test namespace.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { TestHost } from '../../helpers/netns.js';

/** Runs `script` (a node -e program that prints "ready" when set up) as `title` inside `host`. */
export async function startNamed(host: TestHost, title: string, script: string): Promise<{ child: ChildProcess; pid: number; lines: string[] }> {
  const child = host.spawn(process.execPath, ['-e', `process.title = ${JSON.stringify(title)};\n${script}`]);
  const lines: string[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l === 'ready') resolve();
    });
    child.once('exit', (code) => reject(new Error(`${title} exited (${code}) before it was ready`)));
    setTimeout(() => reject(new Error(`${title} not ready after 10 s`)), 10_000).unref();
  });
  await ready;
  return { child, pid: child.pid!, lines };
}

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

export const TCP_SERVER = (ip: string, port: number) =>
  `const s = require('net').createServer((c) => c.on('data', () => {})); s.listen(${port}, ${JSON.stringify(ip)}, () => console.log('ready'));`;

export const TCP_CLIENT = (ip: string, port: number) =>
  `const c = require('net').connect(${port}, ${JSON.stringify(ip)}, () => { c.write('hello'); console.log('port ' + c.localPort); console.log('ready'); }); c.on('error', (e) => { console.error(e.message); process.exit(1); });`;
