import { DTypeError, IndexError, ShapeError } from './errors.js';
import { type ArrayKind, arena, pinnedArray, pointerOf } from './kernels/memory.js';
import { rowKernels } from './kernels/rows.js';

/**
 * Arrays a data set is kept in and batches are gathered from: a tensor's
 * storage, or bytes (images, 0–255).
 */
export type RowArray = Float32Array | Float64Array | Int32Array | Uint8Array;

function kindOf(array: RowArray): ArrayKind | undefined {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  if (array instanceof Int32Array) return 'int32';
  if (array instanceof Uint8Array) return 'uint8';
  return undefined;
}

function kindName(array: unknown): string {
  if (array === null || typeof array !== 'object') return typeof array;
  return (array as object).constructor?.name ?? 'object';
}

/**
 * A copy of `array` in the memory the WebAssembly kernels compute in, as
 * `Tensor.pinMemory` makes of a tensor's values: `gatherRows` reads it
 * there, and matrix products read views of it in place. For data read many
 * times (a training set that batches are gathered from), not for fresh
 * arrays per step. The copy's memory is freed when the copy is collected.
 * Where that memory cannot be shared (no SharedArrayBuffer) or is full
 * (4 GiB, or the engine's limit), `array` itself, not a copy:
 * `isPinned(result)` says which.
 *
 * @example
 * const pixels = pinArray(train.pixels); // 47 MB of MNIST bytes, copied once
 * isPinned(pixels); // true where the kernels' memory can be shared
 */
export function pinArray<A extends RowArray>(array: A): A {
  const kind = kindOf(array);
  if (kind === undefined) {
    throw new DTypeError(
      `pinArray: a ${kindName(array)} cannot be pinned: expected a Float32Array, Float64Array, Int32Array or Uint8Array`,
    );
  }
  if (pointerOf(array) >= 0 || array.length === 0) return array;
  const copy = pinnedArray(kind, array.length) as A;
  if (pointerOf(copy) < 0) return array;
  copy.set(array as never);
  return copy;
}

/**
 * Whether `array` lives in the kernels' memory: made by `pinArray`,
 * `allocate(…, { pinMemory: true })` or `Tensor.pinMemory`, or a view of
 * such an array.
 *
 * @example
 * isPinned(new Float32Array(4)); // false
 * isPinned(allocate('float32', 4, { pinMemory: true })); // true where that memory can be shared
 */
export function isPinned(array: ArrayBufferView): boolean {
  return pointerOf(array) >= 0;
}

/** Elements below which JavaScript's copy beats the call into WebAssembly. */
const MIN_WASM = 1024;

/** byte → byte / 255 as float32, the fallback's table (the kernel divides). */
let unitScale: Float32Array | undefined;

/**
 * Copies rows `indices` of `source` (rows of `rowLength` elements, back to
 * back) into `out`, one after another, as PyTorch's
 * `torch.index_select(source, 0, indices, out=out)` does on a 2-D tensor:
 * what a data loader does for every batch. `out` has the type of `source`,
 * or is a Float32Array when `source` holds bytes (a Uint8Array): then each
 * byte b is written as `Math.fround(b / 255)`, in [0, 1], as torchvision's
 * `ToTensor` scales images.
 *
 * When `source` and `out` are both pinned (`pinArray`, `allocate` with
 * `pinMemory`), a WebAssembly kernel copies the rows (bytes are scaled 16 at
 * a time with SIMD); otherwise JavaScript does, with the same result to the
 * bit.
 *
 * @throws {ShapeError} when `rowLength` does not divide `source`, or `out` is
 * too short for the rows.
 * @throws {IndexError} when an index is not a row of `source`.
 * @throws {DTypeError} when `out` cannot hold `source`'s values.
 * @example
 * const pixels = pinArray(train.pixels);                       // [60000 × 784] bytes
 * const batch = allocate('float32', 64 * 784, { pinMemory: true });
 * gatherRows(pixels, 784, order.subarray(0, 64), batch);       // 64 images in [0, 1]
 */
export function gatherRows(
  source: RowArray,
  rowLength: number,
  indices: ArrayLike<number>,
  out: RowArray,
): void {
  const from = kindOf(source);
  const to = kindOf(out);
  const bytesToFloats = from === 'uint8' && to === 'float32';
  if (from === undefined || to === undefined || (from !== to && !bytesToFloats)) {
    throw new DTypeError(
      `gatherRows: cannot write rows of a ${kindName(source)} into a ${kindName(out)}: out must have source's type, or be a Float32Array for a Uint8Array source (bytes scaled to [0, 1])`,
    );
  }
  if (!Number.isInteger(rowLength) || rowLength < 1 || source.length % rowLength !== 0) {
    throw new ShapeError(
      `gatherRows: rowLength ${rowLength} does not divide source's ${source.length} elements into rows`,
    );
  }
  const n = indices.length;
  const rows = source.length / rowLength;
  if (out.length < n * rowLength) {
    throw new ShapeError(
      `gatherRows: out holds ${out.length} elements, but ${n} rows of ${rowLength} need ${n * rowLength}`,
    );
  }
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    if (!(i >= 0 && i < rows && Number.isInteger(i))) {
      throw new IndexError(
        `gatherRows: indices[${j}] is ${i}, not a row of source [${rows}, ${rowLength}]`,
      );
    }
  }
  if (n * rowLength >= MIN_WASM && wasmRows(source, rowLength, indices, out, bytesToFloats)) return;
  if (bytesToFloats) {
    if (unitScale === undefined) {
      unitScale = new Float32Array(256);
      for (let b = 0; b < 256; b++) unitScale[b] = b / 255;
    }
    const scale = unitScale;
    for (let j = 0; j < n; j++) {
      const at = indices[j]! * rowLength;
      const to = j * rowLength;
      for (let k = 0; k < rowLength; k++) out[to + k] = scale[source[at + k]!]!;
    }
  } else if (rowLength < 16) {
    for (let j = 0; j < n; j++) {
      const at = indices[j]! * rowLength;
      const to = j * rowLength;
      for (let k = 0; k < rowLength; k++) out[to + k] = source[at + k]!;
    }
  } else {
    for (let j = 0; j < n; j++) {
      const at = indices[j]! * rowLength;
      out.set(source.subarray(at, at + rowLength) as never, j * rowLength);
    }
  }
}

/** The kernel's gather, when both arrays are pinned and WebAssembly runs here; false otherwise. */
function wasmRows(
  source: RowArray,
  rowLength: number,
  indices: ArrayLike<number>,
  out: RowArray,
  bytesToFloats: boolean,
): boolean {
  const src = pointerOf(source);
  const dst = pointerOf(out);
  if (src < 0 || dst < 0) return false;
  const kernels = rowKernels();
  if (!kernels) return false;
  const n = indices.length;
  let idx = indices instanceof Int32Array ? pointerOf(indices) : -1;
  if (idx < 0) {
    // The indices go to the scratch region, above every pinned block.
    const a = arena()!;
    const at = a.start;
    new Int32Array(a.reserve(at + n).buffer, at * 4, n).set(indices);
    idx = at * 4;
  }
  if (bytesToFloats) kernels.bytes(src, rowLength, idx, n, dst);
  else kernels.copy(src, rowLength * source.BYTES_PER_ELEMENT, idx, n, dst);
  return true;
}
