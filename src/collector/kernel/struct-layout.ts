// Decoders for C structs read from map and ring buffer Buffers. A layout lists the fields in
// declaration order; offsets, padding and size follow the C rules (natural alignment, x86-64 and
// arm64 little-endian), so the description reads like the struct it mirrors. A test compares
// each layout with the compiled object's BTF (BpfObject.btfStruct).

export type FieldType = 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'bytes' | 'cstring';

export interface FieldSpec {
  name: string;
  type: FieldType;
  /** Element count for 'bytes' and 'cstring' (char[N]). */
  length?: number;
}

type Value<T extends FieldType> = T extends 'u64' | 'i64' ? bigint : T extends 'bytes' ? Buffer : T extends 'cstring' ? string : number;

export type Decoded<F extends readonly FieldSpec[]> = { [K in F[number] as K['name']]: Value<K['type']> };

export interface StructField extends FieldSpec {
  offset: number;
  size: number;
}

export interface StructLayout<F extends readonly FieldSpec[]> {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly StructField[];
  offsetOf(field: F[number]['name']): number;
  decode(buf: Buffer, offset?: number): Decoded<F>;
  /** Every record of a batch: `count` structs back to back (BatchResult keys or values). */
  decodeAll(buf: Buffer, count?: number, stride?: number): Decoded<F>[];
}

const SCALAR: Record<Exclude<FieldType, 'bytes' | 'cstring'>, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

function read(buf: Buffer, f: StructField, at: number): number | bigint | string | Buffer {
  switch (f.type) {
    case 'u8': return buf.readUInt8(at);
    case 'i8': return buf.readInt8(at);
    case 'u16': return buf.readUInt16LE(at);
    case 'i16': return buf.readInt16LE(at);
    case 'u32': return buf.readUInt32LE(at);
    case 'i32': return buf.readInt32LE(at);
    case 'u64': return buf.readBigUInt64LE(at);
    case 'i64': return buf.readBigInt64LE(at);
    case 'bytes': return Buffer.from(buf.subarray(at, at + f.size));
    case 'cstring': {
      const raw = buf.subarray(at, at + f.size);
      const end = raw.indexOf(0);
      return raw.subarray(0, end < 0 ? raw.length : end).toString('utf8');
    }
  }
}

/** A u64 as a number from two 32-bit reads: no BigInt in between, exact below 2^53 (byte counts, cgroup ids). */
export function u64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * 2 ** 32;
}

export function defineStruct<const F extends readonly FieldSpec[]>(name: string, specs: F): StructLayout<F> {
  let offset = 0;
  let align = 1;
  const fields: StructField[] = specs.map((s) => {
    const isArray = s.type === 'bytes' || s.type === 'cstring';
    if (isArray && !(s.length && s.length > 0)) throw new Error(`${name}.${s.name}: '${s.type}' needs a positive length`);
    const unit = isArray ? 1 : SCALAR[s.type as keyof typeof SCALAR];
    const size = isArray ? (s.length as number) : unit;
    offset = Math.ceil(offset / unit) * unit;
    align = Math.max(align, unit);
    const f = { ...s, offset, size };
    offset += size;
    return f;
  });
  const size = Math.ceil(offset / align) * align;
  const byName = new Map(fields.map((f) => [f.name, f]));
  const decode = (buf: Buffer, at = 0): Decoded<F> => {
    if (buf.length < at + size) throw new RangeError(`${name}: need ${size} bytes at offset ${at}, buffer has ${buf.length}`);
    const out: Record<string, unknown> = {};
    for (const f of fields) out[f.name] = read(buf, f, at + f.offset);
    return out as Decoded<F>;
  };
  return {
    name,
    size,
    fields,
    offsetOf(field) {
      const f = byName.get(field);
      if (!f) throw new Error(`${name} has no field ${String(field)}`);
      return f.offset;
    },
    decode,
    decodeAll(buf, count = Math.floor(buf.length / size), stride = size) {
      const out: Decoded<F>[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = decode(buf, i * stride);
      return out;
    },
  };
}
