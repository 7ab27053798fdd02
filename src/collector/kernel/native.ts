// Loads the native addon (build/Release/weft.node) and types what it exports. Only the files of
// this folder call it; everything else uses the interfaces of ./types.ts.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeProgramInfo {
  name: string;
  section: string;
  type: number;
  autoload: boolean;
  fd: number;
}

export interface NativeMapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  fd: number;
}

export interface NativeBtfStruct {
  size: number;
  members: { name: string; offset: number; size: number }[];
}

export interface NativeLink {
  destroy(): void;
}

export interface NativeObject {
  programs(): NativeProgramInfo[];
  maps(): NativeMapInfo[];
  setMapMaxEntries(map: string, n: number): void;
  setRodata(variable: string, value: Buffer): void;
  setAutoload(program: string, on: boolean): void;
  load(): void;
  attachTracepoint(program: string, category: string, name: string): NativeLink;
  attachRawTracepoint(program: string, name: string): NativeLink;
  btfStruct(name: string): NativeBtfStruct;
  close(): void;
}

export interface NativeBatch {
  keys: Buffer;
  values: Buffer;
  count: number;
}

export interface NativeTestRun {
  retval: number;
  durationNs: number;
  dataOut: Buffer;
}

export interface NativeTcAttached {
  ifindex: number;
  ifname: string;
  priority: number;
  progId: number;
  createdQdisc: boolean;
}

export interface NativeAddon {
  NativeObject: new (path: string) => NativeObject;
  /** onRecords gets every record of one wakeup back to back in `data`, with their lengths. */
  RingBuffer: new (mapFd: number, onRecords: (data: Buffer, lengths: Uint32Array) => void) => { consume(): number; close(): void };
  mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | undefined;
  mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(fd: number, key: Buffer): boolean;
  mapLookupBatch(fd: number, keySize: number, valueSize: number, maxEntries: number, andDelete: boolean): NativeBatch;
  mapLookupEach(fd: number, keySize: number, valueSize: number, maxEntries: number): NativeBatch;
  possibleCpus(): number;
  closeFd(fd: number): void;
  ifIndex(netns: string, iface: string | number): { ifindex: number; ifname: string };
  tcxAttach(netns: string, iface: string | number, direction: string, progFd: number): { fd: number; ifindex: number; ifname: string };
  tcAttach(
    netns: string,
    iface: string | number,
    direction: string,
    progFd: number,
    handle: number,
    firstPriority: number,
    priorities: number,
  ): NativeTcAttached;
  tcDetach(netns: string, ifindex: number, direction: string, handle: number, priority: number, progId: number): boolean;
  tcRemoveIdleClsact(netns: string, ifindex: number): 'removed' | 'in-use' | 'gone';
  tcFilterCount(netns: string, ifindex: number, direction: string): number;
  testRun(progFd: number, data: Buffer, repeat: number, ctx?: Buffer): NativeTestRun;
  testRunAsync(progFd: number, data: Buffer, repeat: number, ctx?: Buffer): Promise<NativeTestRun>;
  progInfo(progFd: number): { id: number; name: string; runCount: number; runTimeNs: number; recursionMisses: number };
  enableStats(): number;
  probeRingbuf(): boolean;
  probeTcx(): boolean;
  probeBpfStats(): boolean;
  probeProgType(type: number): boolean;
  vmlinuxHasStruct(name: string): boolean;
  ensureTracefs(): boolean;
}

/** The package root: two levels above src/collector/kernel or lib/collector/kernel. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon) return addon;
  const path = join(packageRoot, 'build', 'Release', 'weft.node');
  if (!existsSync(path)) {
    throw new Error(`the native addon is not built (${path} is missing): run "npm run build"`);
  }
  addon = createRequire(import.meta.url)(path) as NativeAddon;
  return addon;
}
