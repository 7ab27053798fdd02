// The addon against the real kernel, without traffic: loading and its errors, configuration
// before load, map access (single keys, batches, per-CPU values), test runs, statistics, probing,
// and the C struct layouts checked against the compiled objects' BTF.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObject, probeKernel, enableStats, defineStruct, type KernelError, type KernelObject } from '../../src/collector/kernel/index.js';
import { describePrivileged } from '../helpers/privileged.js';
import { createHost, destroyAll } from '../helpers/netns.js';

/** sizeof(struct __sk_buff), the context of sched_cls programs. */
const SK_BUFF_SIZE = 192;
const obj = (name: string) => `lib/bpf/test/${name}.bpf.o`;

function thrown(fn: () => unknown): KernelError {
  try {
    fn();
  } catch (e) {
    return e as KernelError;
  }
  throw new Error('expected an error');
}

const u64 = (n: number | bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

describePrivileged('kernel objects', () => {
  afterAll(destroyAll);

  describe('bad input gives clear errors', () => {
    it('a missing object file', () => {
      const e = thrown(() => openObject(obj('k_missing')));
      expect(e.code).toBe('ENOENT');
      expect(e.message).toContain('BPF object file not found');
      expect(e.message).toContain('k_missing.bpf.o');
    });

    it('a file that is not an ELF object', () => {
      const e = thrown(() => openObject('package.json'));
      expect(e.message).toMatch(/^cannot open BPF object .*package\.json: .* \(LIBBPF_FORMAT\) — libbpf: elf: .* is not a proper ELF object$/);
      expect(e.code).toBe('LIBBPF_FORMAT');
    });

    it('a program name that does not exist', () => {
      const o = openObject(obj('k_count'));
      try {
        const e = thrown(() => o.attachTracepoint('no_such_prog', 'sock', 'sock_send_length'));
        expect(e.code).toBe('ENOENT');
        expect(e.message).toContain("no program named 'no_such_prog'");
        expect(e.message).toContain('count_send');
        expect(thrown(() => openObject(obj('k_count'), { disablePrograms: ['nope'] })).message).toContain("cannot disable program 'nope'");
      } finally {
        o.close();
      }
    });

    it('a verifier rejection, with the log in the Error', () => {
      const e = thrown(() => openObject(obj('k_bad')));
      expect(e.errno).toBe(13);
      expect(e.code).toBe('EACCES');
      expect(e.message).toContain("the verifier rejected program 'unchecked'");
      expect(e.verifierLog).toContain("invalid mem access 'map_value_or_null'");
      // The tail of the log is quoted in the message too, so it shows in any stack trace.
      expect(e.message).toContain("invalid mem access 'map_value_or_null'");
    });

    it('an interface that does not exist, here and in another namespace', () => {
      const host = createHost('ko');
      const o = openObject(obj('k_count'));
      try {
        for (const mode of ['tcx', 'clsact'] as const) {
          const e = thrown(() => o.attachTc('udp_ingress', { interface: 'weftnope0', direction: 'ingress', mode }));
          expect(e.message).toBe("no interface named 'weftnope0'");
          const inNs = thrown(() => o.attachTc('udp_ingress', { interface: 'weftnope0', direction: 'ingress', netns: host.path, mode }));
          expect(inNs.message).toBe(`no interface named 'weftnope0' in ${host.path}`);
        }
        expect(thrown(() => o.attachTc('udp_ingress', { interface: 999999, direction: 'egress' })).message).toBe('no interface with index 999999');
        const ns = thrown(() => o.attachTc('udp_ingress', { interface: 'lo', direction: 'egress', netns: '/run/netns/weft-no-such-ns' }));
        expect(ns.code).toBe('ENOENT');
        expect(ns.message).toContain('/run/netns/weft-no-such-ns');
      } finally {
        o.close();
      }
    });

    it('attaching twice, to TC and to a tracepoint', () => {
      const host = createHost('ko');
      const o = openObject(obj('k_count'));
      try {
        for (const mode of ['tcx', 'clsact'] as const) {
          const a = o.attachTc('udp_ingress', { interface: 'lo', direction: 'ingress', netns: host.path, mode });
          const e = thrown(() => o.attachTc('udp_ingress', { interface: 1, direction: 'ingress', netns: host.path, mode }));
          expect(e.code).toBe('EEXIST');
          expect(e.message).toBe(`program 'udp_ingress' is already attached to lo@${host.path}:ingress`);
          a.detach();
        }
        expect(thrown(() => o.attachTracepoint('count_send', 'weft', 'no_such_event')).message).toContain(
          "cannot attach program 'count_send' to tracepoint weft:no_such_event: No such file or directory (ENOENT)",
        );
        const t = o.attachTracepoint('count_send', 'sock', 'sock_send_length');
        expect(thrown(() => o.attachTracepoint('count_send', 'sock', 'sock_send_length')).message).toBe(
          "program 'count_send' is already attached to tracepoint sock:sock_send_length",
        );
        t.detach();
        t.detach();
        // Once detached, the same hook can be used again.
        o.attachTracepoint('count_send', 'sock', 'sock_send_length').detach();
      } finally {
        o.close();
      }
    });

    it('closing twice, and using a closed object', () => {
      const o = openObject(obj('k_count'));
      const m = o.map('sends');
      o.attachRawTracepoint('count_syscalls', 'sys_enter');
      o.close();
      o.close();
      expect(thrown(() => o.map('sends')).message).toContain('is closed');
      expect(thrown(() => m.lookupBatch()).message).toContain('closed BPF object');
      expect(thrown(() => o.testRun('udp_ingress', { data: Buffer.alloc(64) })).code).toBe('EBADF');
    });

    it('wrong key and value sizes, unknown maps, attaching a non-TC program to TC', () => {
      const o = openObject(obj('k_maps'));
      try {
        expect(thrown(() => o.map('hash').lookup(Buffer.alloc(4))).message).toBe("map 'hash' has 8-byte keys, got 4 bytes");
        expect(thrown(() => o.map('hash').update(u64(1), Buffer.alloc(8))).message).toBe("map 'hash' has 16-byte values, got 8 bytes");
        expect(thrown(() => o.map('nope')).message).toContain("no map named 'nope'");
        expect(thrown(() => openObject(obj('k_maps'), { mapSizes: { nope: 10 } })).message).toContain("no map named 'nope'");
        expect(thrown(() => openObject(obj('k_maps'), { mapSizes: { hash: 4e9 } })).message).toBe(
          'mapSizes.hash must be a whole number from 1 to 2147483647, got 4000000000',
        );
        expect(thrown(() => openObject(obj('k_ring'), { rodata: { nope: Buffer.alloc(4) } })).message).toContain(
          "no const volatile variable named 'nope'",
        );
        expect(thrown(() => openObject(obj('k_ring'), { rodata: { marker: Buffer.alloc(2) } })).message).toBe(
          "rodata variable 'marker' is 4 bytes, got 2",
        );
      } finally {
        o.close();
      }
      const c = openObject(obj('k_count'));
      try {
        expect(thrown(() => c.attachTc('count_send', { interface: 'lo', direction: 'ingress' })).message).toContain('is not a sched_cls');
      } finally {
        c.close();
      }
    });
  });

  describe('configuration before load', () => {
    it('sets map sizes, .rodata globals and disables programs', async () => {
      const o = openObject(obj('k_ring'), { mapSizes: { events: 1 << 20, counters: 2 }, rodata: { marker: u32(0xfeedbeef) } });
      try {
        expect(o.map('events').maxEntries).toBe(1 << 20);
        const got: Buffer[] = [];
        const c = o.consumeRingBuffer('events', (r) => got.push(...r));
        o.testRun('submit', { data: Buffer.alloc(64), repeat: 3 });
        await until(() => got.length >= 3);
        c.close();
        expect(got.map((b) => b.readUInt32LE(16))).toEqual([0xfeedbeef, 0xfeedbeef, 0xfeedbeef]);
      } finally {
        o.close();
      }
      const d = openObject(obj('k_count'), { disablePrograms: ['count_send', 'udp_egress'] });
      try {
        expect(d.stats().map((s) => s.name)).toEqual(['count_syscalls', 'udp_ingress']);
        expect(thrown(() => d.attachTracepoint('count_send', 'sock', 'sock_send_length')).message).toContain('was not loaded (disabled)');
      } finally {
        d.close();
      }
    });
  });

  describe('maps', () => {
    let o: KernelObject;
    beforeAll(() => {
      o = openObject(obj('k_maps'), { mapSizes: { hash: 5000 } });
    });
    afterAll(() => o.close());

    const value = (i: number) => Buffer.concat([u64(i), u64(i * 100)]);

    it('looks up, updates and deletes single keys', () => {
      const m = o.map('hash');
      expect(m.lookup(u64(42))).toBeUndefined();
      m.update(u64(42), value(42));
      expect(m.lookup(u64(42))).toEqual(value(42));
      expect(thrown(() => m.update(u64(42), value(1), 1 /* BPF_NOEXIST */)).code).toBe('EEXIST');
      expect(m.delete(u64(42))).toBe(true);
      expect(m.delete(u64(42))).toBe(false);
    });

    it('reads a whole map in batches, the same as one key at a time', () => {
      const m = o.map('hash');
      const n = 4321;
      for (let i = 0; i < n; i++) m.update(u64(i), value(i));
      const batch = m.lookupBatch();
      const each = m.lookupEach();
      expect(batch.count).toBe(n);
      expect(each.count).toBe(n);
      const entries = (r: typeof batch) =>
        new Map(Array.from({ length: r.count }, (_, i) => [r.keys.readBigUInt64LE(i * 8), r.values.subarray(i * 16, i * 16 + 16).toString('hex')]));
      const fromBatch = entries(batch);
      expect(entries(each)).toEqual(fromBatch);
      for (let i = 0; i < n; i++) expect(fromBatch.get(BigInt(i))).toBe(value(i).toString('hex'));
      const drained = m.lookupAndDeleteBatch();
      expect(drained.count).toBe(n);
      expect(entries(drained)).toEqual(fromBatch);
      expect(m.lookupBatch().count).toBe(0);
      expect(m.lookupAndDeleteBatch().count).toBe(0);
    });

    it('returns per-CPU values once per possible CPU', () => {
      const m = o.map('percpu');
      expect(m.perCpu).toBe(true);
      const cpus = m.valueStride / 8;
      expect(cpus).toBeGreaterThanOrEqual(1);
      const v = Buffer.alloc(m.valueStride);
      for (let c = 0; c < cpus; c++) v.writeUInt32LE(c + 1, c * 8);
      m.update(u32(7), v);
      m.update(u32(8), v);
      expect(m.lookup(u32(7))).toEqual(v);
      const r = m.lookupBatch();
      expect(r.count).toBe(2);
      expect(r.values.length).toBe(2 * m.valueStride);
      expect(r.values.subarray(0, m.valueStride)).toEqual(v);
      expect(m.lookupEach().values).toEqual(r.values);
    });

    it('falls back to one key at a time for maps without batch operations (LPM trie)', () => {
      const m = o.map('trie');
      const key = (prefix: number, a: number) => Buffer.concat([u32(prefix), Buffer.from([10, a, 0, 0])]);
      m.update(key(16, 1), u32(1));
      m.update(key(24, 2), u32(2));
      const r = m.lookupBatch();
      expect(r.count).toBe(2);
      expect(m.lookupAndDeleteBatch().count).toBe(2);
      expect(m.lookupBatch().count).toBe(0);
    });

    it('reads arrays in batches', () => {
      const m = o.map('array');
      m.update(u32(3), u64(33));
      const r = m.lookupBatch();
      expect(r.count).toBe(16);
      expect(r.values.readBigUInt64LE(3 * 8)).toBe(33n);
      expect(r.keys.readUInt32LE(15 * 4)).toBe(15);
    });
  });

  it('test-runs a program, with a context, and counts its runs while statistics are on', async () => {
    const o = openObject(obj('k_ring'));
    const stats = enableStats();
    try {
      const r = o.testRun('submit', { data: Buffer.alloc(64, 1), repeat: 10 });
      expect(r.retval).toBe(0);
      expect(r.dataOut).toEqual(Buffer.alloc(64, 1));
      expect(r.durationNs).toBeGreaterThan(0);
      const s = o.stats().find((x) => x.name === 'submit');
      expect(s?.runCount).toBe(10);
      expect(s?.runTimeNs).toBeGreaterThan(0);
      const counters = o.map('counters').lookupBatch();
      expect(counters.values.readBigUInt64LE(0)).toBe(10n);
      // A context: __sk_buff.mark (offset 8) is copied into each record's `kind`.
      const ctx = Buffer.alloc(SK_BUFF_SIZE);
      ctx.writeUInt32LE(42, 8);
      const got: Buffer[] = [];
      const c = o.consumeRingBuffer('events', (r) => got.push(...r));
      o.testRun('submit', { data: Buffer.alloc(64), ctx });
      // The ten records of the runs above come first; the last is this run's.
      await until(() => got.length >= 11);
      c.close();
      expect(got.map((r) => [r.readUInt16LE(20), r.readUInt8(22)])).toEqual([...Array(10).fill([64, 0]), [64, 42]]);
    } finally {
      stats.close();
      stats.close();
      o.close();
    }
  });

  it('probes the running kernel', () => {
    const p = probeKernel(['sock:inet_sock_set_state', 'sock:sock_send_length', 'weft:no_such_event']);
    expect(p.kernelRelease).toMatch(/^\d+\.\d+/);
    expect(p.btf).toBe(true);
    expect(p.ringbuf).toBe(true);
    expect(p.bpfStats).toBe(true);
    expect(p.tracepoints).toEqual({ 'sock:inet_sock_set_state': true, 'sock:sock_send_length': true, 'weft:no_such_event': false });
    const [major, minor] = p.kernelRelease.split('.').map(Number) as [number, number];
    // tcx came with 6.6.
    expect(p.tcx).toBe(major > 6 || (major === 6 && minor >= 6));
    expect(typeof p.kprobes).toBe('boolean');
  });

  it('decodes records with layouts that match the C structs (BTF of the objects)', () => {
    const ringEvent = defineStruct('k_ring_event', [
      { name: 'seq', type: 'u64' },
      { name: 'ktime', type: 'u64' },
      { name: 'marker', type: 'u32' },
      { name: 'len', type: 'u16' },
      { name: 'kind', type: 'u8' },
      { name: 'flags', type: 'u8' },
    ]);
    const kValue = defineStruct('k_value', [
      { name: 'packets', type: 'u64' },
      { name: 'bytes', type: 'u64' },
    ]);
    const tcKey = defineStruct('tc_key', [
      { name: 'ifindex', type: 'u32' },
      { name: 'ingress', type: 'u32' },
    ]);
    for (const [file, layout] of [
      ['k_ring', ringEvent],
      ['k_maps', kValue],
      ['k_count', tcKey],
    ] as const) {
      const o = openObject(obj(file));
      try {
        const btf = o.btfStruct(layout.name);
        expect(layout.size).toBe(btf.size);
        expect(layout.fields.map((f) => ({ name: f.name, offset: f.offset, size: f.size }))).toEqual(btf.members);
      } finally {
        o.close();
      }
    }
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
