// lib/bpf/links.bpf.o loaded and attached: its tracepoints (as BTF-enabled raw tracepoints), the
// map of open connections, the closed client connections added up per link (drained by a map
// swap), the ring buffer of the other closed ones and the loss counters. Programs whose tracepoint this kernel lacks
// (sock_send_length/sock_recv_length before Linux 6.3) are left out rather than failing the load.
import { openObject, probeKernel, type KernelObject } from './index.js';
import type { Attachment, ProgramStats, RingBufferConsumer } from './types.js';
import { MapSwap } from './map-swap.js';
import {
  CLOSE_SIZE,
  CONN_SIZE,
  FOLD_KEY_SIZE,
  FOLD_SIZE,
  SERVER_SLOT_SIZE,
  decodeClose,
  countFilledSlots,
  decodeConnSlots,
  decodeConns,
  decodeCounters,
  decodeFolds,
  decodeServerSlots,
  type CloseRecord,
  type ConnView,
  type CounterName,
  type FoldRecord,
  type ServerSlot,
} from './links-records.js';

/** max_entries of link_tuples in links.bpf.c. */
const DEFAULT_TUPLE_ENTRIES = 4096;
/** max_entries of link_conn_slots, link_tuple_slots and link_servers in links.bpf.c. */
const DEFAULT_SLOTS = 4096;

export const LINK_PROGRAMS = [
  { program: 'link_state', category: 'sock', name: 'inet_sock_set_state', required: true },
  { program: 'link_send', category: 'sock', name: 'sock_send_length', required: false },
  { program: 'link_recv', category: 'sock', name: 'sock_recv_length', required: false },
  { program: 'link_retransmit', category: 'tcp', name: 'tcp_retransmit_skb', required: false },
] as const;

export interface LinksProgramOptions {
  objectPath: string;
  /** max_entries of link_conns (open connections, one per local socket). */
  connEntries?: number;
  /** max_entries of link_tuples: client connections between their handshake and the first byte
   * they receive (default 4096, never more than connEntries). */
  tupleEntries?: number;
  /** max_entries of link_conn_slots, link_tuple_slots and link_servers (a power of two, default
   * 4096): direct-mapped slots that spare a socket's entry, a local pair's client tuple and its
   * server view their hash map entries. */
  slots?: number;
  /** max_entries of each of the two link_folds maps: links with a client close between two drains. */
  foldEntries?: number;
  /** Size of the closed-connection ring buffer: a power of two, at least one page. */
  ringBufferBytes?: number;
  /** Trace only the sockets of this network namespace (inode); tests and debugging. */
  onlyNetns?: number;
  /** `category:name` tracepoints to leave out as if this kernel lacked them (tests, workarounds). */
  withoutTracepoints?: string[];
}

export class LinksProgram {
  readonly attached: string[] = [];
  /** Programs left out, with why. */
  readonly disabled: { program: string; reason: string }[] = [];
  /** Entries of link_conns and filled slots of link_conn_slots at the last readConnChunks(). */
  lastConnMapEntries = 0;
  lastSlotEntries = 0;
  private readonly obj: KernelObject;
  private readonly attachments: Attachment[] = [];
  private consumer: RingBufferConsumer | undefined;
  private readonly folds: MapSwap;
  private folding = false;
  /** Copies of a fold value in a batch read: one per possible CPU (per-CPU maps). */
  private readonly foldCopies: number;

  constructor(opts: LinksProgramOptions) {
    const ring = opts.ringBufferBytes;
    if (ring !== undefined && (ring < 4096 || (ring & (ring - 1)) !== 0)) {
      throw new Error(`links ring buffer size must be a power of two of at least 4096 bytes, got ${ring}`);
    }
    for (const n of [opts.connEntries, opts.tupleEntries, opts.foldEntries]) {
      if (n !== undefined && !(Number.isInteger(n) && n > 0)) throw new Error(`links map size must be a positive whole number, got ${n}`);
    }
    const slots = opts.slots ?? DEFAULT_SLOTS;
    if (!(Number.isInteger(slots) && slots > 0 && (slots & (slots - 1)) === 0) || slots > 2 ** 24) {
      throw new Error(`links slots must be a power of two from 1 to 16777216, got ${slots}`);
    }
    const probe = probeKernel(LINK_PROGRAMS.map((p) => `${p.category}:${p.name}`));
    const without = new Set(opts.withoutTracepoints ?? []);
    for (const p of LINK_PROGRAMS) {
      const tp = `${p.category}:${p.name}`;
      const reason = without.has(tp) ? `${tp} left out by configuration` : probe.tracepoints[tp] ? undefined : `no tracepoint ${tp} in this kernel`;
      if (!reason) continue;
      if (p.required) throw new Error(`links: cannot work without ${tp} (${reason}; Linux >= 4.16 has it)`);
      this.disabled.push({ program: p.program, reason });
    }
    const mapSizes: Record<string, number> = {};
    if (opts.connEntries) mapSizes.link_conns = opts.connEntries;
    if (opts.tupleEntries || opts.connEntries) {
      mapSizes.link_tuples = opts.tupleEntries ?? Math.min(opts.connEntries!, DEFAULT_TUPLE_ENTRIES);
    }
    if (opts.foldEntries) {
      mapSizes.link_folds_a = opts.foldEntries;
      mapSizes.link_folds_b = opts.foldEntries;
    }
    if (ring) mapSizes.link_events = ring;
    mapSizes.link_conn_slots = slots;
    mapSizes.link_tuple_slots = slots;
    mapSizes.link_servers = slots;
    const onlyNetns = Buffer.alloc(4);
    onlyNetns.writeUInt32LE(opts.onlyNetns ?? 0);
    const slotMask = Buffer.alloc(4);
    slotMask.writeUInt32LE(slots - 1);
    this.obj = openObject(opts.objectPath, {
      mapSizes,
      rodata: { only_netns: onlyNetns, slot_mask: slotMask },
      disablePrograms: this.disabled.map((d) => d.program),
    });
    try {
      const conn = this.obj.btfStruct('link_conn');
      if (conn.size !== CONN_SIZE) throw new Error(`links: ${opts.objectPath} has a ${conn.size}-byte link_conn, the decoder expects ${CONN_SIZE}: rebuild with make -C bpf`);
      const servers = this.obj.map('link_servers');
      if (servers.valueSize !== SERVER_SLOT_SIZE) throw new Error(`links: ${opts.objectPath} has a ${servers.valueSize}-byte link_server, the decoder expects ${SERVER_SLOT_SIZE}: rebuild with make -C bpf`);
      this.foldCopies = this.obj.map('link_folds_a').valueStride / FOLD_SIZE;
      this.folds = new MapSwap(this.obj.map('link_folds'), [this.obj.map('link_folds_a'), this.obj.map('link_folds_b')]);
      for (const m of this.folds.maps) {
        if (m.keySize !== FOLD_KEY_SIZE || m.valueSize !== FOLD_SIZE) {
          throw new Error(`links: ${m.name} has ${m.keySize}/${m.valueSize}-byte keys/values, the decoder expects ${FOLD_KEY_SIZE}/${FOLD_SIZE}: rebuild with make -C bpf`);
        }
      }
      for (const p of LINK_PROGRAMS) {
        if (this.disabled.some((d) => d.program === p.program)) continue;
        this.attachments.push(this.obj.attachRawTracepoint(p.program, p.name));
        this.attached.push(`${p.program} → tp_btf ${p.category}:${p.name}`);
      }
    } catch (e) {
      this.obj.close();
      throw e;
    }
  }

  /** Whether payload bytes are traced (false on kernels before 6.3: close-time counters only). */
  get tracesPayload(): boolean {
    return !this.disabled.some((d) => d.program === 'link_send' || d.program === 'link_recv');
  }

  get slotCapacity(): number {
    return this.obj.map('link_conn_slots').maxEntries;
  }

  get connCapacity(): number {
    return this.obj.map('link_conns').maxEntries;
  }

  get foldCapacity(): number {
    return this.folds.maps[0].maxEntries;
  }

  /**
   * Closed client connections added up per link since the last call, each exactly once: the
   * programs move to the other map (./map-swap.ts), then the one they left is read and emptied.
   */
  drainFolds(): FoldRecord[] {
    if (!this.folding) return [];
    const r = this.folds.swap().lookupAndDeleteBatch();
    return decodeFolds(r.values, r.count, this.foldCopies);
  }

  /**
   * Until this is called, client closes go to the ring buffer like the others, each naming its
   * socket: what the socket table read at start needs to leave out connections closed meanwhile.
   */
  startFolding(): void {
    if (this.folding) return;
    this.folds.point();
    this.folding = true;
  }

  /**
   * Every open connection the kernel tracks now, the entries in slots, then those in link_conns:
   * both maps are read now, their views decoded `size` at a time as the chunks are taken (at
   * 100,000 connections a whole read's views lived on into V8's old generation).
   */
  readConnChunks(size = CONN_CHUNK): Iterable<ConnView[]> {
    const slots = this.obj.map('link_conn_slots');
    const s = slots.lookupBatch();
    const m = this.obj.map('link_conns');
    const r = m.lookupBatch();
    // Checked before the first chunk: a poll must not stop half applied on a short read.
    checkBatch('link_conn_slots', s.values, s.count, slots.valueStride);
    checkBatch('link_conns', r.values, r.count, m.valueStride);
    this.lastConnMapEntries = r.count;
    this.lastSlotEntries = countFilledSlots(s.values, s.count, slots.valueStride);
    return (function* () {
      for (let i = 0; i < s.count; i += size) yield decodeConnSlots(s.values.subarray(i * slots.valueStride), Math.min(size, s.count - i), slots.valueStride);
      for (let i = 0; i < r.count; i += size) yield decodeConns(r.values.subarray(i * m.valueStride), Math.min(size, r.count - i), m.valueStride);
    })();
  }

  /** The server sockets of open local pairs that have a slot instead of an entry. */
  readServerSlots(): ServerSlot[] {
    const m = this.obj.map('link_servers');
    const r = m.lookupBatch();
    return decodeServerSlots(r.values, r.count, m.valueStride);
  }

  readCounters(): Record<CounterName, number> {
    const r = this.obj.map('link_counters').lookupBatch();
    return decodeCounters(r.keys, r.values, r.count);
  }

  /** Closed connections, in the order they closed; a bad record goes to onError, never lost silently. */
  consumeClosed(onClosed: (records: CloseRecord[]) => void, onError: (err: Error) => void): void {
    if (this.consumer) throw new Error('links: the closed-connection ring buffer is already being consumed');
    this.consumer = this.obj.consumeRingBuffer(
      'link_events',
      (raw) => {
        const out: CloseRecord[] = [];
        for (const b of raw) {
          if (b.length < CLOSE_SIZE) onError(new Error(`links: short close record (${b.length} of ${CLOSE_SIZE} bytes)`));
          else out.push(decodeClose(b));
        }
        if (out.length) onClosed(out);
      },
      { onError: (e) => onError(e instanceof Error ? e : new Error(String(e))) },
    );
  }

  /**
   * Delivers the close records waiting now to the consumeClosed() callback; returns how many.
   * Close records wake the consumer by themselves only once an eighth of the ring is waiting (a
   * wakeup per connection would cost more than the rest), so every poll drains the others.
   */
  drainClosed(): number {
    return this.consumer?.consume() ?? 0;
  }

  /** Run counts and times of the programs (counted while someone holds enableStats()). */
  stats(): ProgramStats[] {
    return this.obj.stats();
  }

  close(): void {
    this.consumer?.close();
    this.consumer = undefined;
    this.obj.close();
  }
}

/** Views decoded at a time by readConnChunks(). */
const CONN_CHUNK = 1000;

function checkBatch(map: string, values: Buffer, count: number, stride: number): void {
  if (stride < CONN_SIZE || values.length < count * stride) throw new Error(`${map}: ${count} values of ${stride} bytes do not fit a read of ${values.length} bytes (a value needs ${CONN_SIZE})`);
}
