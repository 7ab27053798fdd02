// The flow program (bpf/flows.bpf.c) loaded and driven: configuration before load, attaching to
// interfaces, exact draining through the map swap, counters and the overflow ring buffer.
import { performance } from 'node:perf_hooks';
import { openObject, type KernelObject } from './index.js';
import {
  decodeBatch,
  decodeEvent,
  FLOW_COUNTERS,
  FLOW_EVENT_SIZE,
  FLOW_KEY_SIZE,
  FLOW_VALUE_SIZE,
  sumPerCpu,
  type FlowCounters,
  type FlowSample,
} from './flows-layout.js';
import type { Attachment, BpfMap, RingBufferConsumer, TcDirection, TestRunResult } from './types.js';
import { MapSwap } from './map-swap.js';

export interface FlowFilters {
  /** Count only TCP/UDP packets from or to one of these ports (at most 8). */
  ports?: number[];
  protocols?: ('tcp' | 'udp' | 'icmp' | 'other')[];
}

export interface FlowProgramOptions {
  objectPath: string;
  /** Entries of each of the two flow maps (default 65536). */
  flowEntries?: number;
  /** Bytes of the overflow ring buffer, a power of two (default 256 KiB). */
  overflowBytes?: number;
  /** Count 1 packet in N (default 1: every packet). */
  sampling?: number;
  filters?: FlowFilters;
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

export class FlowProgram {
  readonly object: KernelObject;
  readonly capacity: number;
  private readonly flowMaps: MapSwap;
  /** Entries in the map most recently drained: how full the maps run. */
  lastDrainEntries = 0;

  constructor(opts: FlowProgramOptions) {
    this.capacity = opts.flowEntries ?? 65536;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error(`flows: map size must be a whole number ≥ 1, got ${this.capacity}`);
    const overflow = opts.overflowBytes ?? 256 * 1024;
    this.object = openObject(opts.objectPath, {
      mapSizes: { flows_a: this.capacity, flows_b: this.capacity, flow_overflow: overflow },
      rodata: flowRodata(opts),
    });
    try {
      this.flowMaps = new MapSwap(this.object.map('flows_active'), [this.object.map('flows_a'), this.object.map('flows_b')]);
      for (const m of this.flowMaps.maps) {
        if (m.keySize !== FLOW_KEY_SIZE || m.valueSize !== FLOW_VALUE_SIZE) {
          throw new Error(`flows: ${m.name} has ${m.keySize}/${m.valueSize}-byte keys/values, the decoder expects ${FLOW_KEY_SIZE}/${FLOW_VALUE_SIZE}: rebuild bpf/`);
        }
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

  /**
   * Everything counted since the last drain, exactly once: the programs move to the other map
   * (./map-swap.ts), then the one they left is read and emptied with batch lookup-and-delete.
   */
  drain(timing?: (phase: 'swap' | 'read' | 'decode', ms: number) => void): FlowSample[] {
    const t0 = performance.now();
    const old = this.flowMaps.swap();
    const t1 = performance.now();
    const batch = old.lookupAndDeleteBatch();
    const t2 = performance.now();
    this.lastDrainEntries = batch.count;
    const samples = decodeBatch(batch.keys, batch.values, batch.count);
    if (timing) {
      timing('swap', t1 - t0);
      timing('read', t2 - t1);
      timing('decode', performance.now() - t2);
    }
    return samples;
  }

  /** The map the program writes to now (the other one is empty between drains). */
  activeMap(): BpfMap {
    return this.flowMaps.current;
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

  /** Packets that found the flow map full, as one-packet flows; bad records go to onError. */
  onOverflow(onSamples: (samples: FlowSample[]) => void, onError: (e: Error) => void): RingBufferConsumer {
    return this.object.consumeRingBuffer('flow_overflow', (records) => {
      const samples: FlowSample[] = [];
      for (const r of records) {
        if (r.length < FLOW_EVENT_SIZE) onError(new Error(`flows: overflow record of ${r.length} bytes ignored`));
        else samples.push(decodeEvent(r));
      }
      if (samples.length > 0) onSamples(samples);
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
