import { allocate, assertDType, type DType, dtypeOf, type TypedArray } from './dtype.js';
import { guardFill } from './engine.js';
import { DTypeError, fmt, IndexError, ShapeError } from './errors.js';
import { holdBlock } from './kernels/memory.js';
import { Rng } from './rng.js';
import { type Shape, sizeOf } from './shape.js';
import { type NestedArray, Tensor } from './tensor.js';

/** Options every constructor takes. */
export interface TensorOptions {
  /** Element type; `float32` unless the data is a typed array of another. */
  dtype?: DType;
  /** Whether the new leaf collects gradients in `.grad`. */
  requiresGrad?: boolean;
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0]!;
  }
  return shape;
}

function fill(target: TypedArray, data: NestedArray, shape: readonly number[]): void {
  let at = 0;
  const walk = (v: NestedArray, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number')
        throw new ShapeError(
          `tensor: ragged nested array at [${path.join(', ')}]: expected a number`,
        );
      target[at++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ShapeError(
        `tensor: ragged nested array at [${path.join(', ')}]: expected ${shape[depth]} entries like the first row (shape ${fmt(shape)})`,
      );
    }
    v.forEach((x, i) => {
      walk(x, depth + 1, [...path, i]);
    });
  };
  walk(data, 0, []);
}

/**
 * A tensor from nested arrays (shape inferred), a flat array or a typed
 * array (shape given, or 1-D). A typed array of the right dtype is used
 * as the storage without copying.
 *
 * @example
 * tensor([[1, 2], [3, 4]]);                             // float32 [2, 2]
 * tensor(pixels, { shape: [28, 28] });                  // a Float32Array, no copy
 * tensor([0, 1, 2], { dtype: 'int32' });
 */
export function tensor(
  data: NestedArray | TypedArray | readonly number[],
  options: TensorOptions & { shape?: readonly number[] } = {},
): Tensor {
  guardFill('tensor');
  const isTyped = ArrayBuffer.isView(data);
  const dtype = checked(options.dtype) ?? (isTyped ? dtypeOf(data) : undefined) ?? 'float32';
  let shape: number[];
  let storage: TypedArray;
  const flatArray =
    Array.isArray(data) && options.shape && data.every((v) => typeof v === 'number');
  if (isTyped || flatArray) {
    const flat = data as ArrayLike<number>;
    shape = options.shape ? options.shape.slice() : [flat.length];
    if (sizeOf(shape) !== flat.length) {
      throw new ShapeError(
        `tensor: ${flat.length} values cannot fill shape ${fmt(shape)} (${sizeOf(shape)} elements)`,
      );
    }
    if (isTyped && dtypeOf(data) === dtype) {
      storage = data as TypedArray;
      // Shared, not copied: a view of a pinned array must keep its block alive.
      holdBlock(storage);
    } else {
      storage = allocate(dtype, flat.length);
      storage.set(flat as ArrayLike<number>);
    }
  } else {
    const nested = inferShape(data as NestedArray);
    storage = allocate(dtype, sizeOf(nested));
    fill(storage, data as NestedArray, nested);
    // A shape given with nested arrays reshapes them.
    shape = options.shape ? options.shape.slice() : nested;
    if (sizeOf(shape) !== storage.length) {
      throw new ShapeError(
        `tensor: nested arrays of shape ${fmt(nested)} cannot fill shape ${fmt(shape)}`,
      );
    }
  }
  return new Tensor(storage, shape, dtype, { requiresGrad: options.requiresGrad ?? false });
}

/** A dtype given by the caller, refused with a DTypeError if it is not one of ours (plain JS callers). */
function checked(dtype: DType | undefined): DType | undefined {
  return dtype === undefined ? undefined : assertDType(dtype);
}

/**
 * A tensor of `shape` filled with `value`. Inside a step being compiled it
 * throws (the value would be frozen into the plan): pass such a tensor in.
 *
 * @example
 * full([2, 3], 0.5);
 */
export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  guardFill('full');
  return filled(shape, value, options);
}

/** zeros and ones: their values follow from the shape, so a trace may make them. */
function filled(shape: Shape, value: number, options: TensorOptions): Tensor {
  const dtype = checked(options.dtype) ?? 'float32';
  const data = allocate(dtype, sizeOf(shape)).fill(value);
  return new Tensor(data, shape, dtype, { requiresGrad: options.requiresGrad ?? false });
}

/** @example zeros([784, 16]) */
export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled(shape, 0, options);
}

/** @example ones([16]) */
export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return filled(shape, 1, options);
}

/** Zeros of `like`'s shape and dtype. */
export function zerosLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return filled(like.shape, 0, { dtype: like.dtype, ...options });
}

/** Ones of `like`'s shape and dtype. */
export function onesLike(like: Tensor, options: TensorOptions = {}): Tensor {
  return filled(like.shape, 1, { dtype: like.dtype, ...options });
}

/**
 * Evenly spaced values in [start, stop), as Python's `range`.
 *
 * @example
 * arange(5);        // [0, 1, 2, 3, 4]
 * arange(1, 2, 0.25);
 */
export function arange(
  start: number,
  stop?: number,
  step = 1,
  options: TensorOptions = {},
): Tensor {
  const [lo, hi] = stop === undefined ? [0, start] : [start, stop];
  const n = Math.max(Math.ceil((hi - lo) / step), 0);
  const dtype =
    checked(options.dtype) ??
    (Number.isInteger(lo) && Number.isInteger(step) ? 'int32' : 'float32');
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = lo + i * step;
  return new Tensor(data, [n], dtype, { requiresGrad: options.requiresGrad ?? false });
}

/** `n` evenly spaced values from `start` to `stop` inclusive. */
export function linspace(
  start: number,
  stop: number,
  n: number,
  options: TensorOptions = {},
): Tensor {
  guardFill('linspace');
  const dtype = checked(options.dtype) ?? 'float32';
  const data = allocate(dtype, n);
  for (let i = 0; i < n; i++) data[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return new Tensor(data, [n], dtype, { requiresGrad: options.requiresGrad ?? false });
}

/** The n×n identity matrix. */
export function eye(n: number, options: TensorOptions = {}): Tensor {
  const t = zeros([n, n], options);
  for (let i = 0; i < n; i++) t.storage[i * n + i] = 1;
  return t;
}

/** Options of the random constructors: a seed or a shared generator. */
export interface RandomOptions extends TensorOptions {
  /** A generator to draw from (advanced), or a seed for a fresh one. */
  rng?: Rng | number;
}

function generator(rng: Rng | number | undefined): Rng {
  if (rng instanceof Rng) return rng;
  return new Rng(rng ?? (Math.random() * 2 ** 32) >>> 0);
}

/**
 * Standard normal values.
 *
 * @example
 * randn([16, 784], { rng: 42 }).mul(0.01);
 */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  guardFill('randn');
  const rng = generator(options.rng);
  const t = zeros(shape, options);
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = rng.normal();
  return t;
}

/** Uniform values in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  guardFill('rand');
  const rng = generator(options.rng);
  const t = zeros(shape, options);
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = rng.float();
  return t;
}

/** Uniform integers in [low, high), as int32. */
export function randint(
  low: number,
  high: number,
  shape: Shape,
  options: RandomOptions = {},
): Tensor {
  guardFill('randint');
  const rng = generator(options.rng);
  const t = zeros(shape, { ...options, dtype: 'int32' });
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = low + rng.int(high - low);
  return t;
}

/**
 * One-hot rows for int32 class labels: `[N]` → `[N, classes]`, composed
 * from a comparison against `arange(classes)`.
 *
 * @example
 * oneHot(tensor([2, 0], { dtype: 'int32' }), 3); // [[0, 0, 1], [1, 0, 0]]
 */
export function oneHot(labels: Tensor, classes: number, dtype: DType = 'float32'): Tensor {
  if (labels.dtype !== 'int32') {
    throw new DTypeError(
      `oneHot: labels must be int32, got ${labels.dtype} of shape ${fmt(labels.shape)}`,
    );
  }
  const bad = labels.storage.findIndex((v) => v < 0 || v >= classes);
  if (bad >= 0) {
    throw new IndexError(
      `oneHot: label ${labels.storage[bad]} at flat index ${bad} is outside [0, ${classes})`,
    );
  }
  return labels.expandDims(-1).eq(arange(classes)).cast(dtype);
}
