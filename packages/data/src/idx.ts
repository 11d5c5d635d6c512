import { gzipSync } from 'fflate';
import { IdxError } from './errors.js';
import { gunzip, isGzip } from './gzip.js';

/** The element types an IDX file can hold. */
export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed array that holds each IDX element type. */
export interface IdxArrayOf {
  uint8: Uint8Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  float32: Float32Array;
  float64: Float64Array;
}

/**
 * A parsed IDX file: element type, dimensions (outermost first, as in the
 * header) and the values in row-major order, in native byte order.
 */
export type IdxData = {
  [T in IdxType]: { type: T; dims: number[]; data: IdxArrayOf[T] };
}[IdxType];

interface TypeInfo {
  code: number;
  bytes: number;
  make: (n: number) => IdxArrayOf[IdxType];
  read: (view: DataView, at: number) => number;
  write: (view: DataView, at: number, value: number) => void;
}

// Type codes from the IDX specification; every multi-byte value is big-endian.
const TYPES: Record<IdxType, TypeInfo> = {
  uint8: {
    code: 0x08,
    bytes: 1,
    make: (n) => new Uint8Array(n),
    read: (v, at) => v.getUint8(at),
    write: (v, at, x) => v.setUint8(at, x),
  },
  int8: {
    code: 0x09,
    bytes: 1,
    make: (n) => new Int8Array(n),
    read: (v, at) => v.getInt8(at),
    write: (v, at, x) => v.setInt8(at, x),
  },
  int16: {
    code: 0x0b,
    bytes: 2,
    make: (n) => new Int16Array(n),
    read: (v, at) => v.getInt16(at),
    write: (v, at, x) => v.setInt16(at, x),
  },
  int32: {
    code: 0x0c,
    bytes: 4,
    make: (n) => new Int32Array(n),
    read: (v, at) => v.getInt32(at),
    write: (v, at, x) => v.setInt32(at, x),
  },
  float32: {
    code: 0x0d,
    bytes: 4,
    make: (n) => new Float32Array(n),
    read: (v, at) => v.getFloat32(at),
    write: (v, at, x) => v.setFloat32(at, x),
  },
  float64: {
    code: 0x0e,
    bytes: 8,
    make: (n) => new Float64Array(n),
    read: (v, at) => v.getFloat64(at),
    write: (v, at, x) => v.setFloat64(at, x),
  },
};

const TYPE_NAMES = Object.keys(TYPES) as IdxType[];

function typeOfCode(code: number): IdxType | undefined {
  return TYPE_NAMES.find((t) => TYPES[t].code === code);
}

function hex(n: number, digits: number): string {
  return `0x${n.toString(16).padStart(digits, '0')}`;
}

function supportedCodes(): string {
  return TYPE_NAMES.map((t) => `${hex(TYPES[t].code, 2)} (${t})`).join(', ');
}

/**
 * Reads an IDX file (the format of MNIST and Fashion-MNIST), gzipped or
 * not: gzip input is recognised by its magic number and inflated first,
 * with its length and CRC-32 checked. Every problem throws an `IdxError`
 * whose message starts with `name` and names the byte where it is: a
 * wrong magic number, an unknown type code, a header cut short, or dims
 * that disagree with the data length (expected vs actual bytes).
 *
 * `uint8` and `int8` data are views into the (inflated) input, not copies;
 * wider types are converted from big-endian into a new array.
 *
 * @example
 * const idx = parseIdx(bytes, 'train-labels-idx1-ubyte.gz');
 * idx.type; // 'uint8'
 * idx.dims; // [60000]
 * idx.data; // Uint8Array(60000)
 */
export function parseIdx(bytes: Uint8Array, name?: string): IdxData {
  const where = name ? `${name}: ` : '';
  const fail = (what: string) => new IdxError(`${where}${what}`);
  if (isGzip(bytes))
    bytes = gunzip(bytes, name, { declaredSize: (head) => declaredSize(head, name) });
  if (bytes.length < 4) {
    throw fail(
      `${bytes.length} bytes is too short for an IDX header (4 bytes: 0x0000, type code, dimension count)`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    throw fail(
      `wrong magic number ${hex(magic, 8)} at byte 0: an IDX file starts with two zero bytes, ` +
        `a type code and a dimension count (is this an IDX file?)`,
    );
  }
  const type = typeOfCode(bytes[2]!);
  if (type === undefined) {
    throw fail(
      `unsupported IDX type code ${hex(bytes[2]!, 2)} at byte 2: expected one of ${supportedCodes()}`,
    );
  }
  const ndim = bytes[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw fail(
      `truncated header: byte 3 declares ${ndim} dimensions, which need a ${headerBytes}-byte header, ` +
        `but the file has ${bytes.length} bytes`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(view.getUint32(4 + 4 * d));
  const info = TYPES[type];
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = count * info.bytes;
  const actual = bytes.length - headerBytes;
  if (expected !== actual) {
    throw fail(
      `header dims [${dims.join(', ')}] of ${type} need ${expected} data bytes after the ` +
        `${headerBytes}-byte header (${headerBytes + expected} in all), but the file has ${actual} ` +
        `(${bytes.length} in all): ${actual < expected ? 'truncated data' : 'trailing bytes'} from byte ` +
        `${headerBytes + Math.min(actual, expected)}`,
    );
  }
  if (type === 'uint8') {
    return {
      type,
      dims,
      data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, count),
    };
  }
  if (type === 'int8') {
    return { type, dims, data: new Int8Array(bytes.buffer, bytes.byteOffset + headerBytes, count) };
  }
  const data = info.make(count);
  for (let i = 0, at = headerBytes; i < count; i++, at += info.bytes) data[i] = info.read(view, at);
  return { type, dims, data } as IdxData;
}

/**
 * The whole size an IDX header declares (header and data), from the first
 * bytes of a file; `undefined` until the header is complete. A header that
 * is wrong throws here, before the rest of a gzipped file is inflated.
 */
function declaredSize(head: Uint8Array, name: string | undefined): number | undefined {
  if (head.length < 4) return undefined;
  const type = typeOfCode(head[2]!);
  // A wrong magic number or type code: parseIdx throws the error that names it.
  if (head[0] !== 0 || head[1] !== 0 || type === undefined) parseIdx(head, name);
  const ndim = head[3]!;
  if (head.length < 4 + 4 * ndim) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  for (let d = 0; d < ndim; d++) count *= view.getUint32(4 + 4 * d);
  return 4 + 4 * ndim + count * TYPES[type!].bytes;
}

/** What `encodeIdx` writes: the shape of `parseIdx`'s result, `type` inferred from `data` when left out. */
export interface IdxInput {
  type?: IdxType;
  dims: readonly number[];
  data: ArrayLike<number>;
}

function inferType(data: ArrayLike<number>): IdxType | undefined {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  return undefined;
}

/**
 * Writes values as an IDX file (big-endian header and data), gzipped when
 * `gzip` is set: the inverse of `parseIdx`, for tests and for saving data
 * in MNIST's layout. The same values always give the same bytes: the gzip
 * header records no time.
 *
 * @example
 * const bytes = encodeIdx({ dims: [2, 2], data: new Uint8Array([0, 64, 128, 255]) });
 * parseIdx(bytes).dims; // [2, 2]
 */
export function encodeIdx(idx: IdxInput, options: { gzip?: boolean } = {}): Uint8Array {
  const type = idx.type ?? inferType(idx.data);
  if (type === undefined) {
    throw new IdxError(
      `encodeIdx: cannot infer the IDX type of a plain array: pass type (one of ${TYPE_NAMES.join(', ')})`,
    );
  }
  const info = TYPES[type];
  if (info === undefined) {
    throw new IdxError(
      `encodeIdx: unknown type '${type}': expected one of ${TYPE_NAMES.join(', ')}`,
    );
  }
  const dims = idx.dims;
  if (dims.length > 255) {
    throw new IdxError(`encodeIdx: ${dims.length} dimensions, but IDX allows at most 255`);
  }
  dims.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new IdxError(`encodeIdx: dims[${i}] = ${d} is not an integer in [0, 2^32)`);
    }
  });
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== idx.data.length) {
    throw new IdxError(
      `encodeIdx: dims [${dims.join(', ')}] hold ${count} values but data has ${idx.data.length}`,
    );
  }
  const headerBytes = 4 + 4 * dims.length;
  const bytes = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(bytes.buffer);
  bytes[2] = info.code;
  bytes[3] = dims.length;
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d);
  });
  if (info.bytes === 1) {
    const target =
      type === 'int8' ? new Int8Array(bytes.buffer, headerBytes) : bytes.subarray(headerBytes);
    target.set(idx.data);
  } else {
    for (let i = 0, at = headerBytes; i < count; i++, at += info.bytes) {
      info.write(view, at, idx.data[i]!);
    }
  }
  return options.gzip ? gzipSync(bytes, { mtime: 0 }) : bytes;
}
