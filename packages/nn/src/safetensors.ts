import { type DType, Tensor } from '@neurite/tensor';
import { CheckpointError } from './errors.js';
import { checkJsonStructure } from './json.js';

/**
 * The safetensors format, in memory (no file system: this runs in a browser):
 * an 8-byte little-endian header length N, N bytes of JSON header (padded
 * with spaces so the data starts 8-byte aligned), then the raw little-endian
 * tensor data. The header maps each tensor name to its `dtype`, `shape` and
 * `data_offsets` [begin, end) within the data, plus an optional
 * `__metadata__` of string values.
 */

/** A file's tensors and string metadata. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

const codes: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32' };
/** What each stored dtype is read as: half precisions upcast to float32, I64 narrowed to int32 (checked). */
const dtypes: Record<string, DType> = {
  F32: 'float32',
  F64: 'float64',
  I32: 'int32',
  F16: 'float32',
  BF16: 'float32',
  I64: 'int32',
};
const itemSize: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };
const storedSize: Record<string, number> = { F32: 4, F64: 8, I32: 4, F16: 2, BF16: 2, I64: 8 };

/** The float dtypes a file can be written in; PyTorch's `half` and `bfloat16`. */
export type SafetensorsFloat = 'F32' | 'F16' | 'BF16';

/** Options of `toSafetensors`. */
export interface ToSafetensorsOptions {
  /** Stores float tensors as F16 or BF16 (rounded to nearest even), halving the file. Default F32 (float64 stays F64). */
  dtype?: SafetensorsFloat;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits to a number (exact). */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A number to IEEE half-precision bits, rounded to nearest even; overflow gives ±∞. */
function numberToHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** A number to bfloat16 bits (float32's upper half), rounded to nearest even; NaN stays NaN. */
function numberToBfloat16(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if (Number.isNaN(v)) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
const METADATA = '__metadata__';

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function viewOf(t: Tensor): DataView {
  return new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Writes `t`'s values little-endian at `out[at…]`. */
function writeData(t: Tensor, out: Uint8Array, at: number): void {
  if (littleEndian) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    return;
  }
  const src = viewOf(t);
  const dst = new DataView(out.buffer, out.byteOffset + at, t.data.byteLength);
  const n = t.data.length;
  for (let i = 0; i < n; i++) {
    if (t.dtype === 'float32') dst.setFloat32(4 * i, src.getFloat32(4 * i), true);
    else if (t.dtype === 'float64') dst.setFloat64(8 * i, src.getFloat64(8 * i), true);
    else dst.setInt32(4 * i, src.getInt32(4 * i), true);
  }
}

/** A tensor of `dtype` and `shape` from little-endian bytes (copied, so aligned). */
function readData(bytes: Uint8Array, dtype: DType, shape: number[]): Tensor {
  // Not `bytes.slice()`: Node's Uint8Array subclass makes that a view of the same memory, not a copy.
  const copy = new Uint8Array(bytes);
  const n = copy.byteLength / itemSize[dtype];
  let data: Float32Array | Float64Array | Int32Array;
  if (littleEndian) {
    data =
      dtype === 'float32'
        ? new Float32Array(copy.buffer, 0, n)
        : dtype === 'float64'
          ? new Float64Array(copy.buffer, 0, n)
          : new Int32Array(copy.buffer, 0, n);
  } else {
    const view = new DataView(copy.buffer);
    data =
      dtype === 'float32'
        ? Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true))
        : dtype === 'float64'
          ? Float64Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true))
          : Int32Array.from({ length: n }, (_, i) => view.getInt32(4 * i, true));
  }
  return new Tensor(data, shape, dtype);
}

/**
 * Serialises named tensors (and string metadata) to safetensors bytes that
 * PyTorch's and every other safetensors reader load. Tensors are laid out
 * largest element size first, then by name, so each starts aligned.
 *
 * @example
 * const bytes = toSafetensors(model.stateDict(), { epoch: '3' });
 */
export function toSafetensors(
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options: ToSafetensorsOptions = {},
): Uint8Array {
  const float = options.dtype ?? 'F32';
  if (!['F32', 'F16', 'BF16'].includes(float))
    throw new CheckpointError(`toSafetensors: dtype '${float}' must be F32, F16 or BF16`);
  const codeOf = (t: Tensor) =>
    t.dtype === 'float32' || (t.dtype === 'float64' && float !== 'F32') ? float : codes[t.dtype];
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === METADATA)
      throw new CheckpointError(`toSafetensors: '${METADATA}' cannot be a tensor name`);
    if (!(tensors[name] instanceof Tensor))
      throw new CheckpointError(`toSafetensors: '${name}' is not a Tensor`);
  }
  if (metadata) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new CheckpointError(
          `toSafetensors: metadata '${key}' is a ${typeof value}; safetensors metadata values must be strings (JSON.stringify it)`,
        );
      }
    }
  }
  const order = names.sort((a, b) => {
    const d = storedSize[codeOf(tensors[b]!)]! - storedSize[codeOf(tensors[a]!)]!;
    return d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0;
  });
  const header: Record<string, unknown> = {};
  if (metadata) header[METADATA] = metadata;
  let offset = 0;
  for (const name of order) {
    const t = tensors[name]!;
    const size = t.size * storedSize[codeOf(t)]!;
    header[name] = {
      dtype: codeOf(t),
      shape: [...t.shape],
      data_offsets: [offset, offset + size],
    };
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  const dataStart = 8 + headerLength;
  for (const name of order) {
    const t = tensors[name]!;
    const at = dataStart + (header[name] as { data_offsets: number[] }).data_offsets[0]!;
    const code = codeOf(t);
    if (code === 'F16' || code === 'BF16') {
      const half = new DataView(out.buffer, out.byteOffset + at, t.size * 2);
      const convert = code === 'F16' ? numberToHalf : numberToBfloat16;
      for (let i = 0; i < t.size; i++) half.setUint16(2 * i, convert(t.data[i]!), true);
    } else writeData(t, out, at);
  }
  return out;
}

interface Entry {
  name: string;
  /** The dtype as stored: F16, BF16 and I64 are converted on reading. */
  stored: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/** Deeper than this, a header is refused: a valid one nests 3 levels. */
const MAX_HEADER_DEPTH = 16;

/** A short rendering of a header value for a message, never recursing into hostile nesting. */
function preview(v: unknown): string {
  if (!Array.isArray(v))
    return typeof v === 'object' && v !== null ? '{…}' : String(JSON.stringify(v));
  const items = v
    .slice(0, 8)
    .map((x) =>
      typeof x === 'object' && x !== null ? (Array.isArray(x) ? '[…]' : '{…}') : JSON.stringify(x),
    );
  return `[${items.join(', ')}${v.length > 8 ? ', …' : ''}]`;
}

const isNonNegativeInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Parses safetensors bytes, checking everything a truncated or corrupt file
 * could get wrong: the header length against the file size, the JSON, each
 * entry's dtype, shape and offsets, that the byte range matches shape ×
 * dtype, and that the tensors tile the data section exactly (no overlap,
 * gap or trailing bytes). Errors start with `name` (a file path, say) and
 * say which byte range or tensor is at fault.
 *
 * @example
 * const { tensors, metadata } = fromSafetensors(bytes, 'model.safetensors');
 */
export function fromSafetensors(bytes: Uint8Array, name = 'safetensors data'): SafetensorsContents {
  const fail: (why: string) => never = (why) => {
    throw new CheckpointError(`${name}: ${why}`);
  };
  if (bytes.byteLength < 8) {
    fail(`${bytes.byteLength} bytes is too short to hold the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (8 + headerLength > bytes.byteLength) {
    fail(
      `header length ${headerLength} (bytes 0-7) runs beyond the end of the file: the header would end at byte ${8 + headerLength}, the file has ${bytes.byteLength} bytes (truncated?)`,
    );
  }
  if (bytes[8] === 0xef && bytes[9] === 0xbb && bytes[10] === 0xbf) {
    fail(
      'the header starts with a UTF-8 byte-order mark at byte 8; a safetensors header starts with {',
    );
  }
  let header: unknown;
  let text = '';
  try {
    // ignoreBOM: a mark is kept as a character, so it can never slip through.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    );
  } catch (e) {
    fail(
      `the header (bytes 8-${8 + headerLength}) is not valid UTF-8 JSON: ${(e as Error).message}`,
    );
  }
  // Checked before parsing: JSON.parse would keep the last of two equal names
  // silently, and nothing after it should recurse into a hostile nesting.
  const problem = checkJsonStructure(text, MAX_HEADER_DEPTH);
  if (problem) fail(`the header (bytes 8-${8 + headerLength}) ${problem}`);
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(
      `the header (bytes 8-${8 + headerLength}) is not valid UTF-8 JSON: ${(e as Error).message}`,
    );
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail('the header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === METADATA) {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        fail(`'${METADATA}' is not an object of strings`);
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (k === '__proto__') fail(`metadata key '__proto__' is not allowed`);
        if (typeof v !== 'string') fail(`metadata '${k}' is a ${typeof v}, not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const where = `tensor '${key}'`;
    if (key === '__proto__') fail(`tensor name '__proto__' is not allowed`);
    if (raw === null || typeof raw !== 'object') fail(`${where}: header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`${where}: dtype is missing`);
    const dt = Object.hasOwn(dtypes, dtype as string) ? dtypes[dtype as string] : undefined;
    if (!dt)
      fail(
        `${where}: unknown dtype '${String(dtype)}' (this reader supports F32, F64, F16, BF16, I32, I64)`,
      );
    if (!Array.isArray(shape) || !shape.every(isNonNegativeInt))
      fail(`${where}: shape ${preview(shape)} is not an array of non-negative integers`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isNonNegativeInt) ||
      (offsets[0] as number) > (offsets[1] as number)
    )
      fail(
        `${where}: data_offsets ${preview(offsets)} is not a pair [begin, end] with begin <= end`,
      );
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    const need = count * storedSize[dtype as string]!;
    if (end - begin !== need) {
      fail(
        `${where}: shape ${preview(shape)} of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
    if (end > dataLength) {
      fail(
        `${where}: data_offsets [${begin}, ${end}] run beyond the data section of ${dataLength} bytes (file bytes ${dataStart + begin}-${dataStart + end} of ${bytes.byteLength}; truncated?)`,
      );
    }
    entries.push({
      name: key,
      stored: dtype as string,
      dtype: dt!,
      shape: shape as number[],
      begin,
      end,
    });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < covered) {
      fail(
        `tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}) and '${e.name}' [${e.begin}, ${e.end}) overlap`,
      );
    }
    if (e.begin > covered) {
      fail(`data bytes [${covered}, ${e.begin}) before tensor '${e.name}' belong to no tensor`);
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) {
    fail(
      `the tensors cover ${covered} bytes of the ${dataLength}-byte data section; bytes [${covered}, ${dataLength}) belong to no tensor`,
    );
  }
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    if (e.stored === 'F16' || e.stored === 'BF16' || e.stored === 'I64') {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const n = raw.byteLength / storedSize[e.stored]!;
      if (e.stored === 'I64') {
        const data = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const v = view.getBigInt64(8 * i, true);
          if (v > 2147483647n || v < -2147483648n) {
            fail(
              `tensor '${e.name}': I64 value ${v} at index ${i} (file byte ${dataStart + e.begin + 8 * i}) does not fit int32`,
            );
          }
          data[i] = Number(v);
        }
        tensors[e.name] = new Tensor(data, e.shape, 'int32');
      } else {
        const data = new Float32Array(n);
        for (let i = 0; i < n; i++) {
          const h = view.getUint16(2 * i, true);
          if (e.stored === 'F16') data[i] = halfToNumber(h);
          else {
            u32[0] = h << 16;
            data[i] = f32[0]!;
          }
        }
        tensors[e.name] = new Tensor(data, e.shape, 'float32');
      }
      continue;
    }
    tensors[e.name] = readData(raw, e.dtype, e.shape);
  }
  return { tensors, metadata };
}
