// A real program through the addon on a real tracepoint and on TC of a veth inside namespaces the
// test made: N UDP datagrams sent from one namespace to the other are read back as exactly N
// sendmsg calls (tracepoint) and N packets on each side of the wire (TC egress and ingress),
// in tcx and in clsact mode. After close nothing of ours is left on the interfaces.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { openObject, WEFT_TC_HANDLE } from '../../src/collector/kernel/index.js';
import { describePrivileged } from '../helpers/privileged.js';
import { createWire, destroyAll, type Wire } from '../helpers/netns.js';

const N = 200;
const PAYLOAD = 100;
const PORT = 47021;

// Sends N datagrams one after another and prints its pid when done.
const SENDER = `
const s = require('node:dgram').createSocket('udp4');
const [host, port, n, size] = process.argv.slice(1);
let i = 0;
const next = () => i++ < Number(n) ? s.send(Buffer.alloc(Number(size), 7), Number(port), host, next) : s.close();
next();
`;


async function sendAndWait(wire: Wire): Promise<number> {
  const child = wire.a.spawn(process.execPath, ['-e', SENDER, wire.bIp, String(PORT), String(N), String(PAYLOAD)]);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(0);
  return child.pid as number;
}

function ifindex(ns: string, dev: string): number {
  return (JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev], { encoding: 'utf8' })) as { ifindex: number }[])[0]!.ifindex;
}

/** Our filters and the clsact qdiscs on an interface, as tc reports them. */
function tcState(ns: string, dev: string): { ourFilters: number; clsact: boolean } {
  let ourFilters = 0;
  for (const dir of ['ingress', 'egress']) {
    const out = execFileSync('ip', ['netns', 'exec', ns, 'tc', '-j', 'filter', 'show', 'dev', dev, dir], { encoding: 'utf8' });
    const filters = (out.trim() ? JSON.parse(out) : []) as { options?: { handle?: string } }[];
    ourFilters += filters.filter((f) => f.options?.handle === `0x${WEFT_TC_HANDLE.toString(16)}`).length;
  }
  const qdiscs = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, 'tc', '-j', 'qdisc', 'show', 'dev', dev], { encoding: 'utf8' })) as { kind: string }[];
  return { ourFilters, clsact: qdiscs.some((q) => q.kind === 'clsact') };
}

describePrivileged('kernel programs on real traffic', () => {
  let wire: Wire;
  beforeAll(() => {
    wire = createWire(21);
    // A permanent neighbour entry: no datagram waits on ARP, and no ARP packet is counted.
    const mac = (JSON.parse(wire.b.exec('ip', ['-j', 'link', 'show', 'dev', wire.bIf])) as { address: string }[])[0]!.address;
    wire.a.exec('ip', ['neigh', 'replace', wire.bIp, 'lladdr', mac, 'dev', wire.aIf, 'nud', 'permanent']);
  });
  afterAll(destroyAll);

  for (const mode of ['tcx', 'clsact'] as const) {
    it(`counts N datagrams on a tracepoint and on TC (${mode}) of a veth in a test namespace`, async () => {
      const port = Buffer.alloc(2);
      port.writeUInt16LE(PORT);
      const o = openObject('lib/bpf/test/k_count.bpf.o', { rodata: { udp_port: port } });
      const aIndex = ifindex(wire.a.ns, wire.aIf);
      const bIndex = ifindex(wire.b.ns, wire.bIf);
      try {
        const tp = o.attachTracepoint('count_send', 'sock', 'sock_send_length');
        expect(tp.kind).toBe('tracepoint');
        const egress = o.attachTc('udp_egress', { interface: wire.aIf, direction: 'egress', netns: wire.a.path, mode });
        // By index this time: the index is looked up inside the namespace.
        const ingress = o.attachTc('udp_ingress', { interface: bIndex, direction: 'ingress', netns: wire.b.path, mode });
        expect([egress.kind, ingress.kind]).toEqual([mode, mode]);
        expect(egress.target).toBe(`${wire.aIf}@${wire.a.path}:egress`);
        expect(ingress.ifindex).toBe(bIndex);
        if (mode === 'clsact') expect(tcState(wire.b.ns, wire.bIf)).toEqual({ ourFilters: 1, clsact: true });

        const pid = await sendAndWait(wire);

        const sends = o.map('sends').lookup(Buffer.from(new Uint32Array([pid]).buffer));
        expect(sends && { calls: sends.readBigUInt64LE(0), bytes: sends.readBigUInt64LE(8) }).toEqual({
          calls: BigInt(N),
          bytes: BigInt(N * PAYLOAD),
        });
        const packets = o.map('packets').lookupBatch();
        const counts = new Map<string, bigint>();
        for (let i = 0; i < packets.count; i++) {
          counts.set(`${packets.keys.readUInt32LE(i * 8)}/${packets.keys.readUInt32LE(i * 8 + 4)}`, packets.values.readBigUInt64LE(i * 8));
        }
        expect(Object.fromEntries(counts)).toEqual({ [`${aIndex}/0`]: BigInt(N), [`${bIndex}/1`]: BigInt(N) });

        // Detached programs count nothing more.
        egress.detach();
        ingress.detach();
        tp.detach();
        await sendAndWait(wire);
        const after = o.map('packets').lookupBatch();
        expect(after.values).toEqual(packets.values);
      } finally {
        o.close();
      }
      for (const [ns, dev] of [
        [wire.a.ns, wire.aIf],
        [wire.b.ns, wire.bIf],
      ] as const) {
        expect(tcState(ns, dev)).toEqual({ ourFilters: 0, clsact: false });
      }
    });
  }

  it('leaves a clsact qdisc it did not create, and the filters of others, in place', async () => {
    const { b, bIf } = wire;
    b.exec('tc', ['qdisc', 'add', 'dev', bIf, 'clsact']);
    b.exec('tc', ['filter', 'add', 'dev', bIf, 'ingress', 'pref', '1', 'u32', 'match', 'u32', '0', '0']);
    const o = openObject('lib/bpf/test/k_count.bpf.o');
    try {
      const a = o.attachTc('udp_ingress', { interface: bIf, direction: 'ingress', netns: b.path, mode: 'clsact' });
      expect(tcState(b.ns, bIf)).toEqual({ ourFilters: 1, clsact: true });
      a.detach();
      expect(tcState(b.ns, bIf)).toEqual({ ourFilters: 0, clsact: true });
      const theirs = JSON.parse(b.exec('tc', ['-j', 'filter', 'show', 'dev', bIf, 'ingress'])) as { kind: string }[];
      expect(theirs.some((f) => f.kind === 'u32')).toBe(true);
    } finally {
      o.close();
      // Only if it is still there: had ours wrongly taken it away, a failing delete here would
      // replace the assertion that says so.
      if (tcState(b.ns, bIf).clsact) b.exec('tc', ['qdisc', 'del', 'dev', bIf, 'clsact']);
    }
  });
});
