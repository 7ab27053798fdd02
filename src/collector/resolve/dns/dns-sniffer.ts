// Reads the DNS answers dns.bpf.c copies off the watched interfaces and hands them to a sink: one
// that parses them here and passes their address → name pairs on (parseHere), or the unprivileged
// resolver process (privsep/resolver-process.ts). A malformed answer is counted and skipped; it
// never stops the stream.
import { sumPerCpu } from '../../kernel/flows-layout.js';
import type { Attachment, BpfObject, RingBufferConsumer, TcDirection } from '../../kernel/types.js';
import { addressNames, parseDnsResponse, type AddressName } from './dns-message.js';

/** struct dns_event in bpf/dns.bpf.c: ifindex u32, len u16, pad u16, then the payload. */
const HEADER = 8;

export function decodeDnsEvent(rec: Buffer): { ifindex: number; payload: Buffer } | undefined {
  if (rec.length < HEADER) return undefined;
  const len = rec.readUInt16LE(4);
  if (len === 0 || HEADER + len > rec.length) return undefined;
  return { ifindex: rec.readUInt32LE(0), payload: rec.subarray(HEADER, HEADER + len) };
}

/** The address → name pairs in one ring buffer record, or why there are none. */
export function namesFromRecord(rec: Buffer): { names: AddressName[]; error?: undefined } | { names?: undefined; error: string } {
  const ev = decodeDnsEvent(rec);
  if (!ev) return { error: 'short ring buffer record' };
  const parsed = parseDnsResponse(ev.payload);
  return parsed.response ? { names: addressNames(parsed.response) } : { error: parsed.error };
}

export interface DnsWatchTarget {
  interface: string | number;
  /** /run/netns/NAME or /proc/PID/ns/net; absent = the collector's own namespace. */
  netns?: string;
  /** Where answers arrive: ingress for a client's interface (the default). */
  direction?: TcDirection;
}

export interface DnsSnifferStats {
  answers: number;
  names: number;
  malformed: number;
  /** Answers the kernel dropped because the ring buffer was full (dns_lost). */
  lost: number;
  lastError?: string;
}

/** Where ring buffer records go, and what became of them. */
export interface DnsRecordSink {
  take(records: Buffer[]): void;
  counts(): Omit<DnsSnifferStats, 'lost'>;
}

/** Parses records in this process and hands on the names they give. */
export function parseHere(onNames: (names: AddressName[]) => void): DnsRecordSink {
  const counts: Omit<DnsSnifferStats, 'lost'> = { answers: 0, names: 0, malformed: 0 };
  return {
    take(records) {
      for (const rec of records) {
        const r = namesFromRecord(rec);
        if (r.error !== undefined) {
          counts.malformed += 1;
          counts.lastError = r.error;
          continue;
        }
        counts.answers += 1;
        counts.names += r.names.length;
        if (r.names.length > 0) onNames(r.names);
      }
    },
    counts: () => counts,
  };
}

const ZERO = Buffer.alloc(4);

export class DnsSniffer {
  private lost = 0;
  private readonly attachments: Attachment[] = [];
  private consumer: RingBufferConsumer | undefined;
  private readonly sink: DnsRecordSink;

  /** `to`: a sink, or what to call with the names parsed here. */
  constructor(
    private readonly obj: BpfObject,
    to: DnsRecordSink | ((names: AddressName[]) => void),
  ) {
    this.sink = typeof to === 'function' ? parseHere(to) : to;
  }

  start(): void {
    this.consumer ??= this.obj.consumeRingBuffer('dns_events', (records) => this.sink.take(records));
  }

  get stats(): DnsSnifferStats {
    try {
      const v = this.obj.map('dns_lost').lookup(ZERO);
      if (v) this.lost = sumPerCpu(v);
    } catch {
      // closed: the last count read stands
    }
    return { ...this.sink.counts(), lost: this.lost };
  }

  watch(t: DnsWatchTarget): Attachment {
    const opts: Parameters<BpfObject['attachTc']>[1] = { interface: t.interface, direction: t.direction ?? 'ingress' };
    if (t.netns) opts.netns = t.netns;
    const a = this.obj.attachTc('dns_answers', opts);
    this.attachments.push(a);
    return a;
  }

  close(): void {
    this.consumer?.close();
    this.consumer = undefined;
    for (const a of this.attachments.splice(0)) a.detach();
    this.obj.close();
  }
}
