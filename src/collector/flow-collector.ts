// The flow table fed by the kernel: loads bpf/flows.bpf.c, keeps it attached to the interfaces
// the spec selects (as they come and go), drains the flow maps every activeTimeoutMs into the
// table, and folds map-full overflow records from the ring buffer in as they arrive.
import { fileURLToPath } from 'node:url';
import type { FlowRecord, LinkRecord } from '../protocol/index.js';
import { InterfaceWatcher, interfaceKey, type WatchedInterface } from './interfaces/watcher.js';
import { parseInterfaceSpec } from './interfaces/spec.js';
import { FlowProgram, type FlowFilters } from './kernel/flows-program.js';
import { programFacts, type ProgramFacts } from './kernel/program-facts.js';
import type { FlowCounters } from './kernel/flows-layout.js';
import type { Attachment, RingBufferConsumer } from './kernel/types.js';
import type { Resolver } from './resolve/types.js';
import { FlowStore, type FlowInterface } from './tables/flows.js';
import { confirmTcpLinks, type WireFigures } from './tables/flows-tcp-links.js';
import type { ChangeKind, FlowTable } from './tables/types.js';
import { udpLinks, type UdpListener } from './tables/udp-links.js';

export interface FlowCollectorOptions {
  /** Default lib/bpf/flows.bpf.o. */
  objectPath?: string;
  /** `eth0,veth*`, `NETNS:PATTERN`; empty = the default-route interface. */
  interfaces?: string;
  mapSizes?: { flows?: number; overflowBytes?: number };
  /** How often interfaces are listed again (default 1000 ms: new ones attached within 2 s). */
  pollIntervalMs?: number;
  /** How often the kernel maps are drained into the table (default 1000 ms). */
  activeTimeoutMs?: number;
  /** A flow without packets for this long has ended (default 30 s). */
  idleTimeoutMs?: number;
  /** Ended flows stay in the table this long (default 10 min). */
  historyMs?: number;
  /** Most flow records kept in memory (default 200,000; the longest idle go first). */
  maxFlows?: number;
  /** Count 1 packet in N, in the kernel (default 1). */
  sampling?: number;
  filters?: FlowFilters;
  resolver?: Resolver;
}

export interface FlowCollectorHealth {
  interfaces: { name: string; netns?: string; ifindex: number; attach: string }[];
  mapFill: { entries: number; capacity: number; ratio: number };
  /** Packets that found the flow map full and went through the ring buffer (not lost). */
  overflow: number;
  /** Packets whose flow's slot another CPU was creating at that instant: through the ring buffer too. */
  raced: number;
  /** Packets lost because the map and the ring buffer were both full. */
  ringLost: number;
  unparsed: number;
  nonIp: number;
  sampling: number;
  sampledOut: number;
  filtered: number;
  filters: FlowFilters;
  flows: number;
  liveFlows: number;
  /** Records dropped to stay within maxFlows. */
  evicted: number;
  /** Flow samples from an interface no longer known (cannot be named), dropped. */
  unattributed: number;
  drains: number;
  lastDrainMs: number;
  attachErrors: number;
  /** Runs of the flow programs; counted by the kernel only while BPF stats are on (0 otherwise). */
  programRuns: number;
  /** Each program's runs, run time and skipped runs (events lost). */
  programs: Record<string, ProgramFacts>;
  errors: string[];
}

export interface FlowCollector extends FlowTable {
  health(): FlowCollectorHealth;
  /** Drains the kernel maps into the table now (also done every activeTimeoutMs). */
  drainNow(): void;
  /** UDP conversations as `udp` links, given the UDP ports bound for listening on this host. */
  udpLinks(listeners: readonly UdpListener[]): LinkRecord[];
  /** What the wire saw for each TCP link (by link id); links absent were not seen on a watched interface. */
  confirmTcpLinks(links: readonly LinkRecord[]): Map<string, WireFigures>;
  close(): Promise<void>;
}

interface Attached extends FlowInterface {
  info: WatchedInterface;
  attachments: Attachment[];
  /** Drain count when it went away: kept until its last samples are drained. */
  removedAtDrain?: number;
}

const MAX_ERRORS = 20;

export async function startFlowCollector(opts: FlowCollectorOptions = {}): Promise<FlowCollector> {
  const spec = parseInterfaceSpec(opts.interfaces);
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
  const activeTimeoutMs = opts.activeTimeoutMs ?? 1000;
  const sampling = opts.sampling ?? 1;
  const program = new FlowProgram({
    objectPath: opts.objectPath ?? fileURLToPath(new URL('../../lib/bpf/flows.bpf.o', import.meta.url)),
    ...(opts.mapSizes?.flows ? { flowEntries: opts.mapSizes.flows } : {}),
    ...(opts.mapSizes?.overflowBytes ? { overflowBytes: opts.mapSizes.overflowBytes } : {}),
    sampling,
    ...(opts.filters ? { filters: opts.filters } : {}),
  });
  const errors: string[] = [];
  const report = (e: Error): void => {
    errors.push(`${new Date().toISOString()} ${e.message}`);
    if (errors.length > MAX_ERRORS) errors.shift();
  };
  const known = new Map<string, Attached>();
  let drains = 0;
  let lastDrainMs = 0;
  let attachErrors = 0;
  // The program's bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC (at tick resolution), process.hrtime's clock.
  const epochOffsetMs = Date.now() - Number(process.hrtime.bigint()) / 1e6;

  const store = new FlowStore({
    idleTimeoutMs,
    historyMs: opts.historyMs ?? 600_000,
    ...(opts.maxFlows ? { maxFlows: opts.maxFlows } : {}),
    sampling,
    toEpochMs: (ns) => Math.round(ns / 1e6 + epochOffsetMs),
    lookupInterface: (netnsInode, ifindex) => known.get(interfaceKey(netnsInode, ifindex)),
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
  });

  const watcher = new InterfaceWatcher({
    spec,
    intervalMs: opts.pollIntervalMs ?? 1000,
    onAdded(info) {
      const key = interfaceKey(info.netnsInode, info.ifindex);
      try {
        const attachments = program.attach(info.ifindex, info.netns ? `/run/netns/${info.netns}` : undefined);
        known.set(key, { name: info.name, ...(info.netns ? { netns: info.netns } : {}), closeness: info.closeness, info, attachments });
      } catch (e) {
        attachErrors += 1;
        report(new Error(`flows: cannot attach to ${info.netns ? `${info.netns}:` : ''}${info.name}: ${(e as Error).message}`));
      }
    },
    onRemoved(info) {
      const a = known.get(interfaceKey(info.netnsInode, info.ifindex));
      if (!a || a.removedAtDrain !== undefined) return;
      for (const att of a.attachments) {
        try {
          att.detach();
        } catch {
          // the device is gone and took its TC hooks with it
        }
      }
      a.attachments = [];
      a.removedAtDrain = drains;
    },
    onError: report,
  });

  const ingest = (samples: Parameters<FlowStore['ingest']>[0]): void => store.ingest(samples, Date.now());

  const drainNow = (): void => {
    const t0 = process.hrtime.bigint();
    const samples = program.drain();
    drains += 1;
    ingest(samples);
    lastDrainMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // An interface that went away before the previous drain has had every sample drained.
    for (const [key, a] of known) if (a.removedAtDrain !== undefined && drains - a.removedAtDrain >= 2) known.delete(key);
  };

  let overflow: RingBufferConsumer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    overflow = program.onOverflow(ingest, report);
    await watcher.start();
  } catch (e) {
    overflow?.close();
    await watcher.close();
    program.close();
    throw e;
  }
  timer = setInterval(() => {
    try {
      drainNow();
    } catch (e) {
      report(e as Error);
    }
  }, activeTimeoutMs);
  timer.unref();

  let closed = false;
  return {
    records: (): FlowRecord[] => store.records(),
    size: () => store.size(),
    onChange: (l: (kind: ChangeKind) => void) => store.onChange(l),
    drainNow,
    udpLinks: (listeners) => udpLinks(store.records(), { listeners, nowMs: Date.now(), idleTimeoutMs }),
    confirmTcpLinks: (links) => confirmTcpLinks(links, store.records()),
    health(): FlowCollectorHealth {
      const c: FlowCounters = program.counters();
      const stats = program.object.stats();
      return {
        interfaces: [...known.values()]
          .filter((a) => a.removedAtDrain === undefined)
          .map((a) => ({ name: a.name, ...(a.netns ? { netns: a.netns } : {}), ifindex: a.info.ifindex, attach: a.attachments[0]?.kind ?? 'none' })),
        mapFill: { entries: program.lastDrainEntries, capacity: program.capacity, ratio: program.lastDrainEntries / program.capacity },
        overflow: c.overflow,
        raced: c.raced,
        ringLost: c.ringLost,
        unparsed: c.unparsed,
        nonIp: c.nonIp,
        sampling,
        sampledOut: c.sampledOut,
        filtered: c.filtered,
        filters: opts.filters ?? {},
        flows: store.size(),
        liveFlows: store.liveCount(),
        evicted: store.evicted,
        unattributed: store.unknownInterfaceSamples,
        drains,
        lastDrainMs,
        attachErrors,
        programRuns: stats.filter((p) => p.name !== 'flows_drain').reduce((n, p) => n + p.runCount, 0),
        programs: programFacts(stats),
        errors: [...errors],
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      await watcher.close();
      overflow?.close();
      program.close();
    },
  };
}
