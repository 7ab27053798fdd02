// A separate weft process for the kernel tests that need one: to be SIGKILLed while attached, to
// show what a throwing ring buffer consumer does to a process, and what keeps a process alive.
// Usage: node --import tsx test/integration/kernel-child.ts MODE [ARGS...]; prints JSON lines.
import { openObject, cleanupStaleTc } from '../../src/collector/kernel/index.js';

const [mode, ...args] = process.argv.slice(2);
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const ring = () => openObject('lib/bpf/test/k_ring.bpf.o');

switch (mode) {
  case 'tc-attach': {
    // tc-attach tcx|clsact NETNS IFNAME: attach, report, then wait to be killed. NETNS '-' = our own.
    const [tcMode, ns, ifname] = args as ['tcx' | 'clsact', string, string];
    const netns = ns === '-' ? undefined : ns;
    const o = openObject('lib/bpf/test/k_count.bpf.o');
    const a = o.attachTc('udp_ingress', { interface: ifname, direction: 'ingress', netns, mode: tcMode });
    const e = o.attachTc('udp_egress', { interface: ifname, direction: 'egress', netns, mode: tcMode });
    say({ attached: [a.kind, e.kind] });
    setInterval(() => undefined, 60_000);
    break;
  }
  case 'tc-exit': {
    // tc-exit NETNS IFNAME: attach clsact, never detach, and exit through an uncaught exception.
    const [netns, ifname] = args as [string, string];
    const o = openObject('lib/bpf/test/k_count.bpf.o');
    o.attachTc('udp_ingress', { interface: ifname, direction: 'ingress', netns, mode: 'clsact' });
    say({ attached: true });
    setTimeout(() => {
      throw new Error('collector crashed');
    }, 10);
    break;
  }
  case 'tc-cleanup':
    say(cleanupStaleTc());
    break;
  case 'ring-throw': {
    // The consumer throws; the error must reach process 'uncaughtException', the process goes on.
    const o = ring();
    let batches = 0;
    const c = o.consumeRingBuffer('events', () => {
      batches += 1;
      throw new Error(`boom ${batches}`);
    });
    process.on('uncaughtException', (err) => {
      say({ uncaught: err.message });
      if (batches === 1) {
        o.testRun('submit', { data: Buffer.alloc(64), repeat: 1 });
      } else {
        c.close();
        o.close();
      }
    });
    o.testRun('submit', { data: Buffer.alloc(64), repeat: 1 });
    break;
  }
  case 'ring-stay': {
    // Nothing but an open consumer: the process must stay.
    ring().consumeRingBuffer('events', () => undefined);
    say({ ready: true });
    break;
  }
  case 'ring-close': {
    // Closing the consumer from its own callback must let the process end by itself.
    const o = ring();
    const c = o.consumeRingBuffer('events', (records) => {
      say({ records: records.length });
      c.close();
      o.close();
    });
    o.testRun('submit', { data: Buffer.alloc(64), repeat: 5 });
    break;
  }
  default:
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
