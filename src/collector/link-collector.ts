// The link table fed by the kernel: loads bpf/links.bpf.c, seeds the table with the connections
// already open (socket table), then every pollIntervalMs takes the closed client connections the
// kernel added up per link, the other closed ones from the ring buffer, and reads the open ones.
import type { LinkRecord } from '../protocol/index.js';
import { LinksProgram } from './kernel/links-program.js';
import { programFacts, type ProgramFacts } from './kernel/program-facts.js';
import type { CounterName, FoldRecord } from './kernel/links-records.js';
import type { ProgramStats } from './kernel/types.js';
import type { Resolver } from './resolve/types.js';
import { readSocketTable } from './sockets/socket-table.js';
import { LinkTableState, type LinkTableStats } from './tables/links.js';
import type { ChangeKind, LinkTable } from './tables/types.js';
import { nextPollMs } from './poll-spacing.js';

export interface LinkCollectorOptions {
  /** Default lib/bpf/links.bpf.o. */
  objectPath?: string;
  /**
   * conns: open connections tracked at once (one entry per local socket; default 65536). tuples:
   * client connections between their handshake and their first byte received, so a local server
   * finds its client (default 4096, at most conns). folds: links with a closed client connection
   * between two polls (default 8192; beyond, close records). slots: direct-mapped slots for the
   * sockets' entries, the client tuples and the server views of local pairs (a power of two,
   * default 4096): a socket whose slot is taken uses the hash maps instead.
   */
  mapSizes?: { conns?: number; tuples?: number; folds?: number; slots?: number };
  /** Closed-connection ring buffer (power of two, default 1 MiB ≈ 6,900 closes between reads). */
  ringBufferBytes?: number;
  /** How often open connections are read (default 1000 ms). */
  pollIntervalMs?: number;
  /** A link with nothing open leaves the table after this long idle (default 5 min). */
  idleTimeoutMs?: number;
  /** Window of the bytes/s rates (default 10 s). */
  rateWindowMs?: number;
  resolver?: Resolver;
  /** Connections left out: the collector's own. */
  exclude?: { pids?: number[]; serverPorts?: number[] };
  /** Trace only the sockets of this network namespace (its inode); for tests and debugging. */
  onlyNetns?: number;
  /** Tracepoints (`category:name`) to do without, as on a kernel that lacks them. */
  withoutTracepoints?: string[];
}

export interface LinkCollectorHealth {
  attachedPrograms: string[];
  disabledPrograms: { program: string; reason: string }[];
  /** Each attached program's runs, run time and skipped runs (events lost). */
  programs: Record<string, ProgramFacts>;
  /** false before Linux 6.3: bytes come from the kernel's counters at close only. */
  payloadTraced: boolean;
  mapFill: { entries: number; capacity: number; ratio: number };
  /** Close records lost because the ring buffer was full: connections missing from the table. */
  ringBufferLost: number;
  /** Connections never tracked because the connection map was full. */
  mapFullLost: number;
  /** Client closes sent as close records because the fold map was full (not lost). */
  foldMapFull: number;
  /** Closed client connections that arrived added up per link. */
  foldedCloses: number;
  /** Client tuples not indexed (map full): such connections may count from both ends. */
  tupleMapFull: number;
  /** Close records received from the kernel (one per connection, local pairs included). */
  closeRecords: number;
  /** Directions whose traced bytes the kernel's own counters corrected at close. */
  corrections: number;
  /** Open connections gone from the map without a close record (see ringBufferLost). */
  vanished: number;
  /** Connections from the socket table at start not yet seen by the tracer. */
  preexisting: number;
  socketTable: { namespaces: number; listeners: number; connections: number; errors: string[] };
  links: number;
  polls: number;
  lastPollMs: number;
  /** The time between polls now: pollIntervalMs, or longer while polls take long (see nextPollMs). */
  pollEveryMs: number;
  errors: string[];
}

export interface LinkCollector extends LinkTable {
  health(): LinkCollectorHealth;
  /** Reads the open connections now (also done every pollIntervalMs, or less often while polls take long). */
  pollNow(): void;
  /** Kernel run counts and times of the link programs (counted while bpf stats are enabled). */
  programStats(): ProgramStats[];
  close(): Promise<void>;
}

const MAX_ERRORS = 20;

export async function startLinkCollector(opts: LinkCollectorOptions = {}): Promise<LinkCollector> {
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  if (!(pollIntervalMs > 0)) throw new Error(`links: pollIntervalMs must be > 0, got ${pollIntervalMs}`);
  // bpf_ktime_get_ns() is CLOCK_MONOTONIC, the clock of process.hrtime.
  const epochOffsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;
  const program = new LinksProgram({
    objectPath: opts.objectPath ?? new URL('../../lib/bpf/links.bpf.o', import.meta.url).pathname,
    ...(opts.mapSizes?.conns ? { connEntries: opts.mapSizes.conns } : {}),
    ...(opts.mapSizes?.tuples ? { tupleEntries: opts.mapSizes.tuples } : {}),
    ...(opts.mapSizes?.folds ? { foldEntries: opts.mapSizes.folds } : {}),
    ...(opts.mapSizes?.slots !== undefined ? { slots: opts.mapSizes.slots } : {}),
    ...(opts.ringBufferBytes ? { ringBufferBytes: opts.ringBufferBytes } : {}),
    ...(opts.onlyNetns ? { onlyNetns: opts.onlyNetns } : {}),
    ...(opts.withoutTracepoints ? { withoutTracepoints: opts.withoutTracepoints } : {}),
  });
  let table: LinkTableState;
  try {
    table = new LinkTableState({
      ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
      ...(opts.rateWindowMs !== undefined ? { rateWindowMs: opts.rateWindowMs } : {}),
      ...(opts.resolver ? { resolver: opts.resolver } : {}),
      ...(opts.exclude ? { exclude: opts.exclude } : {}),
      vanishGraceMs: Math.max(5 * pollIntervalMs, 2000),
      monoToEpochMs: (ns) => Math.round(Number(ns) / 1e6 + epochOffsetMs),
      payloadTraced: program.tracesPayload,
    });
  } catch (e) {
    program.close();
    throw e;
  }
  const errors: string[] = [];
  const report = (e: Error): void => {
    errors.push(`${new Date().toISOString()} ${e.message}`);
    if (errors.length > MAX_ERRORS) errors.shift();
  };
  let counters: Record<CounterName, number> = { ringLost: 0, connMapFull: 0, tupleMapFull: 0, foldMapFull: 0 };
  let foldedCloses = 0;
  let pendingFolds: FoldRecord[] = [];
  let mapEntries = 0;
  let polls = 0;
  let lastPollMs = 0;
  let closed = false;

  // Attached before the socket table is read: a connection opened in between is in both, and the
  // table keeps the traced one.
  let closeRecords = 0;
  program.consumeClosed((records) => {
    closeRecords += records.length;
    table.addClosed(records, Date.now());
  }, report);
  let socketTable: LinkCollectorHealth['socketTable'];
  try {
    const snap = await readSocketTable();
    if (opts.onlyNetns) {
      snap.listeners = snap.listeners.filter((l) => l.netns === opts.onlyNetns);
      snap.connections = snap.connections.filter((c) => c.netns === opts.onlyNetns);
    }
    table.seedExisting(snap.listeners, snap.connections, Date.now());
    socketTable = { namespaces: snap.namespaces, listeners: snap.listeners.length, connections: snap.connections.length, errors: snap.errors };
  } catch (e) {
    report(new Error(`links: cannot read the socket table: ${(e as Error).message}`));
    table.seedExisting([], [], Date.now());
    socketTable = { namespaces: 0, listeners: 0, connections: 0, errors: [(e as Error).message] };
  }
  program.startFolding();

  const pollNow = (): void => {
    if (closed) return;
    const t0 = process.hrtime.bigint();
    // Folds first, then the open connections: a connection whose counts are in this drain was
    // deleted from the map before it, so the read cannot show it open as well.
    let folds = pendingFolds;
    try {
      const drained = program.drainFolds();
      for (const f of drained) foldedCloses += f.closed + f.failed;
      folds = folds.length ? folds.concat(drained) : drained;
    } catch (e) {
      report(new Error(`links: cannot drain the folded closes: ${(e as Error).message}`));
    }
    try {
      program.drainClosed();
    } catch (e) {
      report(new Error(`links: cannot drain the ring buffer: ${(e as Error).message}`));
    }
    try {
      const views = program.readConnChunks();
      const servers = program.readServerSlots();
      mapEntries = program.lastConnMapEntries + program.lastSlotEntries;
      counters = program.readCounters();
      const now = Date.now();
      // Until a read succeeds, drained folds wait for it rather than being lost.
      pendingFolds = folds;
      table.updateLiveChunks(views, now, folds, servers);
      pendingFolds = [];
      table.expire(now);
    } catch (e) {
      report(new Error(`links: poll failed: ${(e as Error).message}`));
    }
    polls += 1;
    lastPollMs = Number(process.hrtime.bigint() - t0) / 1e6;
  };
  let pollEveryMs = pollIntervalMs;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (closed) return;
    pollEveryMs = nextPollMs(pollIntervalMs, lastPollMs);
    timer = setTimeout(() => {
      pollNow();
      schedule();
    }, pollEveryMs);
    timer.unref();
  };
  pollNow();
  schedule();

  return {
    records: (): LinkRecord[] => table.records(),
    walk: () => table.walk(),
    size: () => table.size(),
    onChange: (listener: (kind: ChangeKind) => void) => table.onChange(listener),
    pollNow,
    programStats: () => program.stats(),
    health(): LinkCollectorHealth {
      const s: LinkTableStats = table.stats();
      const capacity = program.connCapacity + program.slotCapacity;
      return {
        attachedPrograms: [...program.attached],
        disabledPrograms: [...program.disabled],
        programs: programFacts(program.stats()),
        payloadTraced: program.tracesPayload,
        mapFill: { entries: mapEntries, capacity, ratio: capacity ? mapEntries / capacity : 0 },
        ringBufferLost: counters.ringLost,
        mapFullLost: counters.connMapFull,
        foldMapFull: counters.foldMapFull,
        foldedCloses,
        tupleMapFull: counters.tupleMapFull,
        closeRecords,
        corrections: s.corrections,
        vanished: s.vanished,
        preexisting: s.preexisting,
        socketTable,
        links: table.size(),
        polls,
        lastPollMs,
        pollEveryMs,
        errors: [...errors],
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      program.close();
    },
  };
}
