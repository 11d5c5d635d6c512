import { DTypeError } from './errors.js';
import { pinnedArray } from './kernels/memory.js';

/** Element types: `float32` is the default, `float64` serves exact gradient checks, `int32` labels and indices. */
export type DType = 'float32' | 'float64' | 'int32';

/** The storage behind a tensor of each dtype. */
export type TypedArray = Float32Array | Float64Array | Int32Array;

export interface StorageOf {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
}

const constructors = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;

/**
 * A zero-filled buffer of `size` elements of `dtype`, or of bytes
 * (`'uint8'`, for images a loader scales as it gathers them); with
 * `pinMemory`, in the kernels' memory, where matrix products read it in
 * place and `gatherRows` gathers from it (see `Tensor.pinMemory`; a plain
 * array where that memory cannot be shared).
 *
 * @example
 * const batch = allocate('float32', 64 * 784, { pinMemory: true }); // a loader's reused buffer
 * const pixels = allocate('uint8', 60000 * 784, { pinMemory: true }); // images, filled once
 */
export function allocate(
  dtype: 'uint8',
  size: number,
  options?: { pinMemory?: boolean },
): Uint8Array;
export function allocate(dtype: DType, size: number, options?: { pinMemory?: boolean }): TypedArray;
export function allocate(
  dtype: DType | 'uint8',
  size: number,
  options: { pinMemory?: boolean } = {},
): TypedArray | Uint8Array {
  if (options.pinMemory) return pinnedArray(dtype, size);
  return dtype === 'uint8' ? new Uint8Array(size) : new constructors[dtype](size);
}

/**
 * From this many bytes on, a kernel's output skips zero-filling where it can:
 * filling costs as much as the kernel writing it (a 3 MB per-example weight
 * gradient), below it too little to matter.
 */
const UNFILLED_BYTES = 1 << 20;

/**
 * Node's allocation that skips zero-filling, looked up rather than imported
 * so that a browser runs this module as it is (there, outputs are filled).
 */
const node = globalThis as {
  Buffer?: { allocUnsafeSlow?: (bytes: number) => Uint8Array<ArrayBuffer> };
};

let poison = false;

/** Fills every unfilled output with NaN (int32 reads 2143289344), so a kernel that leaves an element unwritten shows. For tests. */
export function poisonOutputs(on: boolean): void {
  poison = on;
}

/**
 * The buffer an op's kernel writes its result into. A kernel writes every
 * element of its output (compile's plans reuse memory on that promise), so
 * a large one is left unfilled where the platform allows (Node): its memory
 * is written once, by the kernel, instead of zero-filled first.
 */
export function kernelOutput(dtype: DType, size: number): TypedArray {
  const View = constructors[dtype];
  const bytes = size * View.BYTES_PER_ELEMENT;
  if (bytes >= UNFILLED_BYTES && typeof node.Buffer?.allocUnsafeSlow === 'function') {
    const { buffer, byteOffset } = node.Buffer.allocUnsafeSlow(bytes);
    if (byteOffset === 0 && buffer.byteLength === bytes) {
      if (poison) new (dtype === 'float64' ? Float64Array : Float32Array)(buffer).fill(Number.NaN);
      return new View(buffer, 0, size);
    }
  }
  return new View(size);
}

/** The dtype whose storage `data` is, or undefined for anything else. */
export function dtypeOf(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return undefined;
}

export function isFloat(dtype: DType): boolean {
  return dtype !== 'int32';
}

const rank: Record<DType, number> = { int32: 0, float32: 1, float64: 2 };

/** The common dtype of an op's inputs: int32 < float32 < float64, as NumPy promotes. */
export function promote(a: DType, b: DType): DType {
  return rank[a] >= rank[b] ? a : b;
}

export function assertDType(value: string): DType {
  if (value === 'float32' || value === 'float64' || value === 'int32') return value;
  throw new DTypeError(`unknown dtype '${value}': expected float32, float64 or int32`);
}
