// A server process whose parent died while it was still starting (a SIGTERM or SIGKILL to the
// collector in its first seconds) ends too, and lets go of the listening socket it was sent.
import { expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { describePrivileged } from '../helpers/privileged.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Binds, starts the server process as the supervisor does, sends it the settings and the socket,
// and exits as soon as the socket is sent: long before the child has loaded its modules.
const PARENT = `
import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { setprivArgs } from './src/collector/privsep/user.ts';
const s = createServer();
s.listen(0, '127.0.0.1', () => {
  const c = fork('src/collector/privsep/server-child.ts', [], {
    execPath: 'setpriv',
    execArgv: [...setprivArgs({ uid: 65534, gid: 65534 }), process.execPath, '--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  console.log(JSON.stringify({ pid: c.pid, port: s.address().port }));
  c.send({ type: 'init', config: {}, token: 'x'.repeat(32), features: {}, parentPid: process.pid });
  c.send({ type: 'listen' }, s, () => process.exit(0));
});
`;

describePrivileged('server process without a parent', () => {
  it('ends when its parent died before it had started listening for messages', async () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PARENT], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const { pid, port } = JSON.parse(r.stdout) as { pid: number; port: number };
    try {
      for (let i = 0; i < 150 && alive(pid); i++) await new Promise((res) => setTimeout(res, 100));
      const listening = spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).stdout.trim();
      expect({ alive: alive(pid), listening }).toEqual({ alive: false, listening: '' });
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
