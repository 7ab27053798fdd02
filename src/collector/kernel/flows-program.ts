// The flow program (bpf/flows.bpf.c) loaded and driven: configuration before load, attaching to
// interfaces, exact draining through the map swap, counters and the overflow ring buffer.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openObject, type KernelObject } from './index.js';
import {
  addFigures,
  decodeBatch,
  decodeEvent,
  FLOW_COUNTERS,
  FLOW_EVENT_SIZE,
  FLOW_KEY_SIZE,
  FLOW_SLOT_SIZE,
  sumPerCpu,
  type FlowCounters,
  type FlowSample,
} from './flows-layout.js';
import type { Attachment, BpfMap, RingBufferConsumer, TcDirection, TestRunResult } from './types.js';

export interface FlowFilters {
  /** Count only TCP/UDP packets from or to one of these ports (at most 8). */
  ports?: number[];
  protocols?: ('tcp' | 'udp' | 'icmp' | 'other')[];
}

export interface FlowProgramOptions {
  objectPath: string;
  /** Flows each of the two kernel tables holds (default 65536). */
  flowEntries?: number;
  /** Bytes of the overflow ring buffer, a power of two (default 256 KiB). */
  overflowBytes?: number;
  /** Count 1 packet in N (default 1: every packet). */
  sampling?: number;
  filters?: FlowFilters;
}

/** FLOW_PROBES in bpf/flows-table.h: spare slots after the last home slot. */
const FLOW_PROBES = 64;
/** DRAIN_BATCH in bpf/flows.bpf.c: flows_drain copies at most this many flows per run. */
const DRAIN_BATCH = 4096;

/** Home slots for a table of `capacity` flows: 1.5 × keeps probe ranges short (linear probing). */
export function slotCount(capacity: number): number {
  return Math.max(16, Math.ceil(capacity * 1.5));
}

const PROTOCOL_BITS = { tcp: 1, udp: 2, icmp: 4, other: 8 } as const;
const PROGRAMS: Record<TcDirection, string> = { ingress: 'flows_ingress', egress: 'flows_egress' };

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** The .rodata values of flows.bpf.c for these options; throws on options the program cannot honour. */
export function flowRodata(opts: Pick<FlowProgramOptions, 'sampling' | 'filters'>): Record<string, Buffer> {
  const sampling = opts.sampling ?? 1;
  if (!Number.isInteger(sampling) || sampling < 1 || sampling > 0xffffffff) throw new Error(`flows: sampling must be a whole number ≥ 1, got ${sampling}`);
  const ports = opts.filters?.ports ?? [];
  if (ports.length > 8) throw new Error(`flows: at most 8 filter ports, got ${ports.length}`);
  const portBuf = Buffer.alloc(16);
  ports.forEach((p, i) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`flows: filter port ${p} is not a port number`);
    portBuf.writeUInt16LE(p, i * 2);
  });
  let protoMask = 0;
  for (const p of opts.filters?.protocols ?? []) {
    const bit = PROTOCOL_BITS[p];
    if (!bit) throw new Error(`flows: filter protocol "${String(p)}" is not one of tcp, udp, icmp, other`);
    protoMask |= bit;
  }
  return { sampling: u32(sampling), filter_protocols: u32(protoMask), filter_port_count: u32(ports.length), filter_ports: portBuf };
}

/** The .rodata of bpf/flows-table.h: table geometry and a fresh random (odd) hash seed. */
export function tableRodata(capacity: number): Record<string, Buffer> {
  const seed = randomBytes(24);
  for (let i = 0; i < 24; i += 8) seed[i]! |= 1;
  return { slot_count: u32(slotCount(capacity)), capacity: u32(capacity), hash_seed: seed };
}

export class FlowProgram {
  readonly object: KernelObject;
  readonly capacity: number;
  /** Slots of each half of flow_table. */
  private readonly halfSlots: number;
  /** The half of flow_table the programs write. */
  private half = 0;
  private readonly halfMap: BpfMap;
  private readonly grace: BpfMap;
  private readonly graceInner: BpfMap;
  private readonly drainOut: BpfMap;
  /** Flows in the half most recently drained: how full the table runs. */
  lastDrainEntries = 0;

  constructor(opts: FlowProgramOptions) {
    this.capacity = opts.flowEntries ?? 65536;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error(`flows: map size must be a whole number ≥ 1, got ${this.capacity}`);
    if (this.capacity > 1 << 26) throw new Error(`flows: map size ${this.capacity} is more than ${1 << 26} flows`);
    const overflow = opts.overflowBytes ?? 256 * 1024;
    this.halfSlots = 1 + slotCount(this.capacity) + FLOW_PROBES;
    this.object = openObject(opts.objectPath, {
      mapSizes: { flow_table: 2 * this.halfSlots, flow_overflow: overflow },
      rodata: { ...flowRodata(opts), ...tableRodata(this.capacity) },
    });
    try {
      this.halfMap = this.object.map('flow_half');
      this.grace = this.object.map('flow_grace');
      this.graceInner = this.object.map('flow_grace_inner');
      this.drainOut = this.object.map('flow_drain_out');
      for (const [m, size] of [[this.object.map('flow_table'), FLOW_SLOT_SIZE], [this.drainOut, FLOW_EVENT_SIZE]] as const) {
        if (m.valueSize !== size) throw new Error(`flows: ${m.name} has ${m.valueSize}-byte values, the decoder expects ${size}: rebuild bpf/`);
      }
    } catch (e) {
      this.object.close();
      throw e;
    }
  }

  /** Both directions of one interface. */
  attach(iface: string | number, netnsPath?: string): Attachment[] {
    const out: Attachment[] = [];
    try {
      for (const direction of ['ingress', 'egress'] as const) {
        out.push(this.object.attachTc(PROGRAMS[direction], { interface: iface, direction, ...(netnsPath ? { netns: netnsPath } : {}) }));
      }
    } catch (e) {
      for (const a of out) a.detach();
      throw e;
    }
    return out;
  }

  /** The half of flow_table the programs write now (0 or 1); the other is empty between drains. */
  activeHalf(): number {
    return this.half;
  }

  /**
   * Points the programs at the other half of flow_table and returns the one they left, which no
   * program writes once this returns: updating a map-in-map slot waits for an RCU grace period
   * (see the top of bpf/flows.bpf.c).
   */
  private switchHalf(): number {
    const old = this.half;
    this.half = 1 - old;
    this.halfMap.update(u32(0), u32(this.half));
    this.grace.update(u32(0), u32(this.graceInner.fd));
    return old;
  }

  /**
   * Everything counted since the last drain, exactly once: the programs move to the other half,
   * then flows_drain copies the flows of the half they left out, DRAIN_BATCH at a time, and
   * empties it.
   */
  drain(timing?: (phase: 'swap' | 'read' | 'decode', ms: number) => void): FlowSample[] {
    const t0 = performance.now();
    const old = this.switchHalf();
    const t1 = performance.now();
    const args = Buffer.alloc(16); // struct flow_drain_args
    args.writeUInt32LE(old, 0);
    const chunks: { records: Buffer; count: number }[] = [];
    let entries = 0;
    for (;;) {
      const r = this.object.testRun('flows_drain', { data: args });
      if (r.retval !== 0) throw new Error(`flows: flows_drain returned ${r.retval}`);
      const cursor = r.dataOut.readUInt32LE(4);
      const count = r.dataOut.readUInt32LE(8);
      if (count > 0) {
        chunks.push({ records: this.drainOut.lookupBatch().values, count });
        entries += count;
      }
      if (count < DRAIN_BATCH || cursor >= this.halfSlots) break;
      args.writeUInt32LE(cursor, 4);
    }
    const t2 = performance.now();
    this.lastDrainEntries = entries;
    const samples: FlowSample[] = [];
    for (const c of chunks) decodeBatch(c.records, c.count, samples);
    if (timing) {
      timing('swap', t1 - t0);
      timing('read', t2 - t1);
      timing('decode', performance.now() - t2);
    }
    return samples;
  }

  counters(): FlowCounters {
    const map = this.object.map('flow_counters');
    const out = {} as FlowCounters;
    FLOW_COUNTERS.forEach((name, i) => {
      const v = map.lookup(u32(i));
      out[name] = v ? sumPerCpu(v) : 0;
    });
    return out;
  }

  /**
   * Packets that found no slot (table full, or a slot being created by another CPU), as flows:
   * one sample per flow in each delivery, since the table takes a flow at most once per batch.
   * Bad records go to onError.
   */
  onOverflow(onSamples: (samples: FlowSample[]) => void, onError: (e: Error) => void): RingBufferConsumer {
    return this.object.consumeRingBuffer('flow_overflow', (records) => {
      const byKey = new Map<string, FlowSample>();
      for (const r of records) {
        if (r.length < FLOW_EVENT_SIZE) {
          onError(new Error(`flows: overflow record of ${r.length} bytes ignored`));
          continue;
        }
        const id = r.toString('latin1', 0, FLOW_KEY_SIZE);
        const s = decodeEvent(r);
        const seen = byKey.get(id);
        if (seen) addFigures(seen, s);
        else byKey.set(id, s);
      }
      if (byKey.size > 0) onSamples([...byKey.values()]);
    }, { onError: (e) => onError(e instanceof Error ? e : new Error(String(e))) });
  }

  testRun(direction: TcDirection, data: Buffer, opts: { repeat?: number; ctx?: Buffer } = {}): TestRunResult {
    return this.object.testRun(PROGRAMS[direction], { data, ...opts });
  }

  /** testRun on the thread pool: the event loop (and drains) go on meanwhile. */
  testRunAsync(direction: TcDirection, data: Buffer, opts: { repeat?: number; ctx?: Buffer } = {}): Promise<TestRunResult> {
    return this.object.testRunAsync(PROGRAMS[direction], { data, ...opts });
  }

  close(): void {
    this.object.close();
  }
}
