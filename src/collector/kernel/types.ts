// The typed face of the native addon (src/collector/native/). Everything the collector does with
// the kernel goes through these interfaces; ./bpf-object.ts implements them over the addon.

export type TcDirection = 'ingress' | 'egress';

export interface OpenOptions {
  /** max_entries per map name, applied before load. */
  mapSizes?: Record<string, number>;
  /** Values for `const volatile` globals in .rodata, by variable name, applied before load. */
  rodata?: Record<string, Buffer>;
  /** Programs not to load (e.g. ones for tracepoints this kernel lacks). */
  disablePrograms?: string[];
}

export interface TcAttachOptions {
  /** Interface name or index inside the namespace. */
  interface: string | number;
  direction: TcDirection;
  /** Path of a network namespace (/run/netns/NAME, /proc/PID/ns/net); absent = the collector's own. */
  netns?: string;
  /** Force a mode; default: tcx where the kernel has it, else clsact. */
  mode?: 'tcx' | 'clsact';
}

export interface Attachment {
  readonly kind: 'tracepoint' | 'raw_tracepoint' | 'tcx' | 'clsact';
  readonly program: string;
  /** e.g. `sock:inet_sock_set_state` or `eth0@/run/netns/x:ingress`. */
  readonly target: string;
  readonly ifindex?: number;
  detach(): void;
}

export interface BatchResult {
  /** count keys, keySize bytes each, back to back. */
  keys: Buffer;
  /** count values, valueSize bytes each (× possible CPUs for per-CPU maps). */
  values: Buffer;
  count: number;
}

export interface BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  lookup(key: Buffer): Buffer | undefined;
  update(key: Buffer, value: Buffer, flags?: number): void;
  delete(key: Buffer): boolean;
  /** Whole map, read in batches inside the addon; one crossing of the N-API boundary. */
  lookupBatch(): BatchResult;
  /** Whole map, read and deleted in batches (atomic per entry). */
  lookupAndDeleteBatch(): BatchResult;
  /** Iterates keys with get_next_key and looks each up: the slow path, for comparison and fallbacks. */
  lookupEach(): BatchResult;
}

export interface RingBufferConsumer {
  /**
   * Delivers every record waiting now through onRecords (synchronously, once, as a wakeup would)
   * and returns how many: also those the kernel submitted without waking the reader
   * (BPF_RB_NO_WAKEUP). Returns 0 after close() or when called from inside onRecords.
   */
  consume(): number;
  /** Stops polling and frees the ring buffer; idempotent. */
  close(): void;
}

export interface TestRunOptions {
  data: Buffer;
  repeat?: number;
  /** Optional __sk_buff context for sched_cls programs. */
  ctx?: Buffer;
}

export interface TestRunResult {
  retval: number;
  /** Average ns per run as reported by the kernel. */
  durationNs: number;
  dataOut: Buffer;
}

export interface ProgramStats {
  name: string;
  /** Runs and their time: counted by the kernel only while BPF stats are on (0 otherwise). */
  runCount: number;
  runTimeNs: number;
  /**
   * Runs the kernel skipped because the program was already running on that CPU (an event in
   * softirq interrupting the same tracepoint in process context): events lost. Always counted.
   */
  recursionMisses: number;
}

export interface BpfObject {
  readonly path: string;
  readonly programs: string[];
  readonly maps: string[];
  map(name: string): BpfMap;
  attachTracepoint(program: string, category: string, name: string): Attachment;
  attachRawTracepoint(program: string, name: string): Attachment;
  attachTc(program: string, opts: TcAttachOptions): Attachment;
  /** Calls onRecords once per wakeup with every record waiting, in order. */
  consumeRingBuffer(map: string, onRecords: (records: Buffer[]) => void): RingBufferConsumer;
  testRun(program: string, opts: TestRunOptions): TestRunResult;
  stats(): ProgramStats[];
  /** Detaches everything this object attached and frees it; idempotent. */
  close(): void;
}

/** Errors from the addon carry these. */
export interface KernelError extends Error {
  errno?: number;
  code?: string;
  /** The verifier's log when a load was rejected. */
  verifierLog?: string;
}
