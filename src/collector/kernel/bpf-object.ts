// openObject(): a BPF object file opened, configured, loaded and wrapped as a BpfObject. Keeps
// every attachment and ring buffer consumer it made, so close() can undo all of them.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { KernelMap } from './bpf-map.js';
import { kernelError } from './errors.js';
import { native, type NativeBtfStruct, type NativeLink, type NativeObject, type NativeProgramInfo } from './native.js';
import { ensureTracefs } from './probe.js';
import { attachTcProgram } from './tc-attach.js';
import type {
  Attachment,
  BpfObject,
  KernelError,
  OpenOptions,
  ProgramStats,
  RingBufferConsumer,
  TcAttachOptions,
  TestRunOptions,
  TestRunResult,
} from './types.js';

const BPF_MAP_TYPE_RINGBUF = 27;
const BPF_PROG_TYPE_SCHED_CLS = 3;
/** Lines of the verifier log quoted in the message itself (the whole log is in verifierLog). */
const LOG_TAIL_LINES = 12;

export interface RingBufferOptions {
  /** Called with what onRecords threw; without it the error goes to process 'uncaughtException'. */
  onError?: (err: unknown) => void;
}

/** BpfObject plus what the addon offers beyond the shared contract. */
export interface KernelObject extends BpfObject {
  map(name: string): KernelMap;
  consumeRingBuffer(map: string, onRecords: (records: Buffer[]) => void, opts?: RingBufferOptions): RingBufferConsumer;
  /** testRun on the libuv thread pool, so the event loop keeps draining ring buffers meanwhile. */
  testRunAsync(program: string, opts: TestRunOptions): Promise<TestRunResult>;
  /** Size and member offsets of a struct as compiled into this object (from its BTF). */
  btfStruct(name: string): NativeBtfStruct;
}

function withLoadContext(e: unknown, path: string): KernelError {
  const err = e as KernelError & { libbpfLog?: string };
  const failed = /prog '([^']+)': BPF program load failed/.exec(err.libbpfLog ?? '')?.[1];
  if (err.verifierLog) {
    const tail = err.verifierLog.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    err.message = `${failed ? `the verifier rejected program '${failed}' of ${path}` : err.message}` +
      ` (${err.code ?? 'error'}); verifier log ends with:\n${tail}`;
  }
  return err;
}

export function openObject(path: string, opts: OpenOptions = {}): KernelObject {
  const full = resolve(path);
  if (!existsSync(full)) throw kernelError(`BPF object file not found: ${full}`, { errno: 2, code: 'ENOENT' });
  const addon = native();
  const obj = new addon.NativeObject(full);
  try {
    const programNames = obj.programs().map((p) => p.name);
    for (const [map, size] of Object.entries(opts.mapSizes ?? {})) {
      if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff) {
        throw kernelError(`mapSizes.${map} must be a whole number from 1 to ${0x7fffffff}, got ${size}`, { code: 'EINVAL', errno: 22 });
      }
      obj.setMapMaxEntries(map, size);
    }
    for (const [name, value] of Object.entries(opts.rodata ?? {})) obj.setRodata(name, value);
    for (const name of opts.disablePrograms ?? []) {
      if (!programNames.includes(name)) {
        throw kernelError(`cannot disable program '${name}': ${full} has ${programNames.join(', ') || 'no programs'}`, { code: 'ENOENT', errno: 2 });
      }
      obj.setAutoload(name, false);
    }
    try {
      obj.load();
    } catch (e) {
      throw withLoadContext(e, full);
    }
    return new LoadedObject(full, obj);
  } catch (e) {
    obj.close();
    throw e;
  }
}

class LoadedObject implements KernelObject {
  readonly programs: string[];
  readonly maps: string[];
  private readonly progs: Map<string, NativeProgramInfo>;
  private readonly mapCache = new Map<string, KernelMap>();
  private readonly attachments = new Set<Attachment>();
  private readonly consumers = new Set<RingBufferConsumer>();
  private readonly tracepointHooks = new Set<string>();
  private open = true;

  constructor(
    readonly path: string,
    private readonly obj: NativeObject,
  ) {
    const progs = obj.programs();
    this.progs = new Map(progs.map((p) => [p.name, p]));
    this.programs = progs.map((p) => p.name);
    this.maps = obj.maps().map((m) => m.name);
  }

  private checkOpen(): void {
    if (!this.open) throw kernelError(`BPF object ${this.path} is closed`, { code: 'EBADF', errno: 9 });
  }

  private program(name: string): NativeProgramInfo {
    this.checkOpen();
    const p = this.progs.get(name);
    if (!p) throw kernelError(`no program named '${name}' in ${this.path} (it has ${this.programs.join(', ') || 'none'})`, { code: 'ENOENT', errno: 2 });
    if (!p.autoload || p.fd < 0) throw kernelError(`program '${name}' of ${this.path} was not loaded (disabled)`, { code: 'ENOENT', errno: 2 });
    return p;
  }

  map(name: string): KernelMap {
    this.checkOpen();
    let m = this.mapCache.get(name);
    if (m) return m;
    const info = this.obj.maps().find((x) => x.name === name);
    if (!info) throw kernelError(`no map named '${name}' in ${this.path} (it has ${this.maps.join(', ')})`, { code: 'ENOENT', errno: 2 });
    m = new KernelMap(info, () => this.open);
    this.mapCache.set(name, m);
    return m;
  }

  private track(a: Attachment): Attachment {
    let attached = true;
    const tracked: Attachment = {
      kind: a.kind,
      program: a.program,
      target: a.target,
      ...(a.ifindex !== undefined ? { ifindex: a.ifindex } : {}),
      detach: () => {
        if (!attached) return;
        attached = false;
        this.attachments.delete(tracked);
        a.detach();
      },
    };
    this.attachments.add(tracked);
    return tracked;
  }

  private linkAttachment(kind: 'tracepoint' | 'raw_tracepoint', program: string, target: string, link: NativeLink): Attachment {
    const hook = `${program}@${kind}:${target}`;
    this.tracepointHooks.add(hook);
    return this.track({
      kind,
      program,
      target,
      detach: () => {
        this.tracepointHooks.delete(hook);
        link.destroy();
      },
    });
  }

  private checkNotAttached(kind: string, program: string, target: string): void {
    if (this.tracepointHooks.has(`${program}@${kind}:${target}`)) {
      throw kernelError(`program '${program}' is already attached to ${kind} ${target}`, { code: 'EEXIST', errno: 17 });
    }
  }

  attachTracepoint(program: string, category: string, name: string): Attachment {
    this.program(program);
    const target = `${category}:${name}`;
    this.checkNotAttached('tracepoint', program, target);
    ensureTracefs();
    return this.linkAttachment('tracepoint', program, target, this.obj.attachTracepoint(program, category, name));
  }

  attachRawTracepoint(program: string, name: string): Attachment {
    this.program(program);
    this.checkNotAttached('raw_tracepoint', program, name);
    return this.linkAttachment('raw_tracepoint', program, name, this.obj.attachRawTracepoint(program, name));
  }

  attachTc(program: string, opts: TcAttachOptions): Attachment {
    const p = this.program(program);
    if (p.type !== BPF_PROG_TYPE_SCHED_CLS) {
      throw kernelError(`program '${program}' is not a sched_cls (SEC("tc")) program`, { code: 'EINVAL', errno: 22 });
    }
    const id = native().progInfo(p.fd).id;
    return this.track(attachTcProgram(program, p.fd, id, opts));
  }

  consumeRingBuffer(mapName: string, onRecords: (records: Buffer[]) => void, opts: RingBufferOptions = {}): RingBufferConsumer {
    const m = this.map(mapName);
    if (m.type !== BPF_MAP_TYPE_RINGBUF) throw kernelError(`map '${mapName}' is not a ring buffer`, { code: 'EINVAL', errno: 22 });
    const { onError } = opts;
    const deliver = (data: Buffer, lengths: Uint32Array): void => {
      // Views into the one Buffer the addon filled for this batch.
      const records = new Array<Buffer>(lengths.length);
      for (let i = 0, at = 0; i < lengths.length; at += lengths[i]!, i += 1) records[i] = data.subarray(at, at + lengths[i]!);
      if (!onError) return onRecords(records);
      try {
        onRecords(records);
      } catch (e) {
        onError(e);
      }
    };
    const rb = new (native().RingBuffer)(m.fd, deliver);
    const consumer: RingBufferConsumer = {
      consume: () => rb.consume(),
      close: () => {
        this.consumers.delete(consumer);
        rb.close();
      },
    };
    this.consumers.add(consumer);
    return consumer;
  }

  testRun(program: string, opts: TestRunOptions): TestRunResult {
    return native().testRun(this.program(program).fd, opts.data, opts.repeat ?? 1, opts.ctx);
  }

  testRunAsync(program: string, opts: TestRunOptions): Promise<TestRunResult> {
    return native().testRunAsync(this.program(program).fd, opts.data, opts.repeat ?? 1, opts.ctx);
  }

  stats(): ProgramStats[] {
    this.checkOpen();
    return [...this.progs.values()]
      .filter((p) => p.fd >= 0)
      .map((p) => {
        const info = native().progInfo(p.fd);
        return { name: p.name, runCount: info.runCount, runTimeNs: info.runTimeNs, recursionMisses: info.recursionMisses };
      });
  }

  btfStruct(name: string): NativeBtfStruct {
    this.checkOpen();
    return this.obj.btfStruct(name);
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    const errors: unknown[] = [];
    for (const c of [...this.consumers]) c.close();
    for (const a of [...this.attachments].reverse()) {
      try {
        a.detach();
      } catch (e) {
        errors.push(e);
      }
    }
    this.obj.close();
    if (errors.length > 0) throw new AggregateError(errors, `closing ${this.path}: ${errors.length} attachment(s) failed to detach`);
  }
}
