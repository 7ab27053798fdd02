// consume(): records the kernel submitted are delivered on demand, synchronously, through the same
// onRecords as a wakeup, exactly once each; never into the middle of another delivery, never after
// close().
import { afterEach, expect, it } from 'vitest';
import { openObject, type KernelObject } from '../../src/collector/kernel/index.js';
import { describePrivileged } from '../helpers/privileged.js';

const seqOf = (r: Buffer): number => Number(r.readBigUInt64LE(0));

describePrivileged('ring buffer consume()', () => {
  let o: KernelObject | undefined;
  afterEach(() => {
    o?.close();
    o = undefined;
  });

  it('delivers every waiting record at once, in order, and nothing twice', async () => {
    o = openObject('lib/bpf/test/k_ring.bpf.o');
    const batches: number[][] = [];
    const consumer = o.consumeRingBuffer('events', (records) => batches.push(records.map(seqOf)));
    o.testRun('submit', { data: Buffer.alloc(64), repeat: 7 });
    // No turn of the event loop in between: only consume() can have delivered these.
    expect(consumer.consume()).toBe(7);
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6]]);
    expect(consumer.consume()).toBe(0);
    // The wakeup the kernel also signalled finds nothing left: no empty or repeated call.
    await new Promise((r) => setTimeout(r, 50));
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6]]);

    o.testRun('submit', { data: Buffer.alloc(64), repeat: 2 });
    expect(consumer.consume()).toBe(2);
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6], [7, 8]]);
  });

  it('does nothing from inside onRecords or after close, and passes on what onRecords throws', () => {
    o = openObject('lib/bpf/test/k_ring.bpf.o');
    const k = o;
    const inner: number[] = [];
    let calls = 0;
    const consumer = k.consumeRingBuffer('events', (records) => {
      calls += 1;
      if (calls === 1) {
        k.testRun('submit', { data: Buffer.alloc(64), repeat: 1 });
        inner.push(consumer.consume());
      }
      if (calls === 2) throw new Error(`consumer failed on ${records.length}`);
    });
    k.testRun('submit', { data: Buffer.alloc(64), repeat: 3 });
    expect(consumer.consume()).toBe(3);
    expect(inner).toEqual([0]);
    // The record submitted during the first delivery comes with the next consume(), whose
    // onRecords throws: the error reaches consume()'s caller.
    expect(() => consumer.consume()).toThrow('consumer failed on 1');
    expect(calls).toBe(2);
    consumer.close();
    k.testRun('submit', { data: Buffer.alloc(64), repeat: 1 });
    expect(consumer.consume()).toBe(0);
    expect(calls).toBe(2);
  });
});
