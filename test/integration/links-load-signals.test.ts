// A load while a profiler signals the process: the verifier gives up with EAGAIN whenever a
// signal is pending for the loading thread, and V8's sampling profiler sends SIGPROF every 50 µs
// here, beating each of libbpf's own five attempts. The addon holds signals back for the load.
import { Session } from 'node:inspector';
import { afterEach, expect, it } from 'vitest';
import { openObject } from '../../src/collector/kernel/index.js';
import { describePrivileged } from '../helpers/privileged.js';

const session = new Session();
const post = (method: string, params: object = {}): Promise<unknown> =>
  new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));

describePrivileged('links: loading under a profiler', () => {
  afterEach(async () => {
    await post('Profiler.stop').catch(() => undefined);
    session.disconnect();
  });

  it('loads lib/bpf/links.bpf.o every time while SIGPROF arrives every 50 µs', async () => {
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 50 });
    await post('Profiler.start');
    const failures: string[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        openObject('lib/bpf/links.bpf.o').close();
      } catch (e) {
        failures.push(`${(e as { code?: string }).code}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
