// BpfMap over the addon: single-key access, and whole-map reads that loop inside C++.
import { native, type NativeMapInfo } from './native.js';
import { kernelError } from './errors.js';
import type { BatchResult, BpfMap } from './types.js';

// BPF_MAP_TYPE_* whose values user space reads once per possible CPU.
const PERCPU_TYPES = new Set([5, 6, 10, 21]);
// The kernel's ENOTSUPP: this map type has no batch operations (e.g. LPM tries).
const ENOTSUPP = 524;

const unsupported = (e: unknown) => (e as { errno?: number }).errno === ENOTSUPP;

export class KernelMap implements BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly perCpu: boolean;
  /** Bytes one entry's value takes in user space: valueSize, or 8-aligned × possible CPUs. */
  readonly valueStride: number;
  private readonly isOpen: () => boolean;

  constructor(info: NativeMapInfo, isOpen: () => boolean) {
    this.name = info.name;
    this.fd = info.fd;
    this.type = info.type;
    this.keySize = info.keySize;
    this.valueSize = info.valueSize;
    this.maxEntries = info.maxEntries;
    this.perCpu = PERCPU_TYPES.has(info.type);
    this.valueStride = this.perCpu ? Math.ceil(info.valueSize / 8) * 8 * native().possibleCpus() : info.valueSize;
    this.isOpen = isOpen;
  }

  private check(key?: Buffer, value?: Buffer): void {
    if (!this.isOpen()) throw kernelError(`map '${this.name}' belongs to a closed BPF object`, { code: 'EBADF', errno: 9 });
    if (key && key.length !== this.keySize) {
      throw kernelError(`map '${this.name}' has ${this.keySize}-byte keys, got ${key.length} bytes`, { code: 'EINVAL', errno: 22 });
    }
    if (value && value.length !== this.valueStride) {
      throw kernelError(`map '${this.name}' has ${this.valueStride}-byte values, got ${value.length} bytes`, { code: 'EINVAL', errno: 22 });
    }
  }

  lookup(key: Buffer): Buffer | undefined {
    this.check(key);
    return native().mapLookup(this.fd, key, this.valueStride);
  }

  update(key: Buffer, value: Buffer, flags = 0): void {
    this.check(key, value);
    native().mapUpdate(this.fd, key, value, flags);
  }

  delete(key: Buffer): boolean {
    this.check(key);
    return native().mapDelete(this.fd, key);
  }

  /** Falls back to lookupEach() for map types without batch operations. */
  lookupBatch(): BatchResult {
    this.check();
    try {
      return native().mapLookupBatch(this.fd, this.keySize, this.valueStride, this.maxEntries, false);
    } catch (e) {
      if (!unsupported(e)) throw e;
      return this.lookupEach();
    }
  }

  /**
   * Falls back to lookupEach() then a delete per key for map types without batch operations
   * (then an entry updated between its read and its delete loses that update).
   */
  lookupAndDeleteBatch(): BatchResult {
    this.check();
    try {
      return native().mapLookupBatch(this.fd, this.keySize, this.valueStride, this.maxEntries, true);
    } catch (e) {
      if (!unsupported(e)) throw e;
      const r = this.lookupEach();
      for (let i = 0; i < r.count; i++) native().mapDelete(this.fd, r.keys.subarray(i * this.keySize, (i + 1) * this.keySize));
      return r;
    }
  }

  lookupEach(): BatchResult {
    this.check();
    return native().mapLookupEach(this.fd, this.keySize, this.valueStride, this.maxEntries);
  }
}
