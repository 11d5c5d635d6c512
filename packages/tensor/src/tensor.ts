import { backward } from './autograd.js';
import { allocate, type DType, type TypedArray } from './dtype.js';
import { detachHooks, guardRead, isTracing, readsGuarded, traceGrad } from './engine.js';
import { fmt, IndexError } from './errors.js';
import { formatGraph, toDot } from './graph.js';
import { pinnedArray, pointerOf } from './kernels/memory.js';
import type { Op } from './op.js';
import { type Conv2dOptions, conv2d, type Pair2 } from './ops/conv.js';
import { binary, cast, unary, where } from './ops/elementwise.js';
import { matmul } from './ops/matmul.js';
import {
  broadcastTo,
  concat,
  expandDims,
  flip,
  indexSelect,
  narrow,
  type PadOptions,
  pad,
  permute,
  reshape,
  slice,
  squeeze,
  transpose,
} from './ops/movement.js';
import type { Operand } from './ops/operand.js';
import { type AvgPool2dOptions, avgPool2d, type MaxPool2dOptions, maxPool2d } from './ops/pool.js';
import { argmax, argmin, logSumExp, max, mean, min, sum } from './ops/reduce.js';
import { logSoftmax, softmax } from './ops/softmax.js';
import { type Shape, sizeOf, stridesOf } from './shape.js';

/** How a tensor was made: the op and the tensors it read. */
export interface Node {
  readonly op: Op<unknown>;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
}

/** Nested arrays of numbers, as `toArray()` returns and `tensor()` accepts. */
export type NestedArray = number | NestedArray[];

type Axes = number | readonly number[];

let nextId = 0;

/**
 * An n-dimensional array with contiguous row-major storage. Its values are
 * immutable to users; every op returns a new tensor, and while any input
 * requires a gradient the result remembers its op and inputs, so the graph
 * can be walked, printed and differentiated, and its gradient differentiated
 * again.
 *
 * Make tensors with `tensor`, `zeros`, `randn` … rather than the constructor.
 *
 * @example
 * const w = tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const loss = w.mul(w).sum();
 * loss.backward();
 * w.grad?.toArray(); // [[2, 4], [6, 8]]
 */
export class Tensor {
  /** A process-unique number, for graph listings. */
  readonly id = nextId++;
  /**
   * The storage, for kernels and the engine: read without the checks of `data`.
   * @internal
   */
  readonly storage: TypedArray;
  readonly shape: Shape;
  readonly dtype: DType;
  /** The op that made this tensor, while it is part of a differentiable graph. */
  readonly node: Node | null;
  /** Whether gradients flow to (and, for a leaf, accumulate in) this tensor. */
  requiresGrad: boolean;
  private gradient: Tensor | null = null;
  /** The accumulated gradient of a leaf after `backward()`. */
  get grad(): Tensor | null {
    return this.gradient;
  }
  set grad(g: Tensor | null) {
    if (isTracing()) traceGrad(this, this.gradient, g);
    this.gradient = g;
  }
  /** An optional label shown by `graph()` and `toDot()`. */
  name: string | undefined;

  constructor(
    data: TypedArray,
    shape: Shape,
    dtype: DType,
    { requiresGrad = false, node = null }: { requiresGrad?: boolean; node?: Node | null } = {},
  ) {
    this.storage = data;
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.node = node;
    this.requiresGrad = requiresGrad;
  }

  /** A 0-d tensor holding `value`. */
  static scalar(value: number, dtype: DType = 'float32'): Tensor {
    const data = allocate(dtype, 1);
    data[0] = value;
    return new Tensor(data, [], dtype);
  }

  /**
   * The values, row-major. Reading them while `compile` traces throws a
   * `CompileError` (the plan would replay them as frozen constants), and so
   * does reading a batched tensor inside `vmap`.
   */
  get data(): TypedArray {
    if (readsGuarded()) guardRead(this, 'data');
    return this.storage;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.storage.length === sizeOf(this.shape) ? this.storage.length : sizeOf(this.shape);
  }

  /** The transpose of the last two axes. */
  get T(): Tensor {
    return transpose(this);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (readsGuarded()) guardRead(this, 'item()');
    if (this.size !== 1)
      throw new IndexError(
        `item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, not 1`,
      );
    return this.storage[0]!;
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    if (readsGuarded()) guardRead(this, 'toArray()');
    const strides = stridesOf(this.shape);
    const build = (axis: number, offset: number): NestedArray => {
      if (axis === this.ndim) return this.storage[offset]!;
      return Array.from({ length: this.shape[axis]! }, (_, i) =>
        build(axis + 1, offset + i * strides[axis]!),
      );
    };
    return build(0, 0);
  }

  /**
   * The same values, cut off from the graph: no gradient flows through the
   * result, and under `jvp` no tangent either. `stopGradient(x)` is the same
   * as a function.
   *
   * @example
   * const target = reward.add(value(next).detach()); // a fixed target in a TD loss
   */
  detach(): Tensor {
    const out = new Tensor(this.storage, this.shape, this.dtype);
    for (const hook of detachHooks) hook(this, out);
    return out;
  }

  /**
   * A copy of the values in the memory the WebAssembly kernels compute in
   * (PyTorch's `pin_memory`, for its GPU): matrix products read it where it
   * is instead of copying it in first, which for a batch of 1000 images costs
   * as much as the product. Worth it for data read many times (a test set,
   * a data loader's batch buffer), not for a fresh copy per step: the garbage
   * collector does not count this memory, so dropped copies can pile up
   * before it runs. The memory is freed when the copy is
   * collected, and not before any tensor made from a view of its `data` is;
   * a bare view (`data.subarray`) does not hold it, so keep the tensor alive
   * while reading one.
   * Where that memory cannot be shared (no SharedArrayBuffer) or is full
   * (4 GiB, or the engine's limit), a plain copy: `isPinned()` says which.
   *
   * @example
   * const test = tensor(pixels, { shape: [10000, 784] }).pinMemory();
   * const rows = test.data.subarray(0, 1000 * 784); // a view: pinned too
   * model.forward(tensor(rows, { shape: [1000, 784] })); // read in place
   */
  pinMemory(): Tensor {
    if (readsGuarded()) guardRead(this, 'pinMemory()');
    const data = pinnedArray(this.dtype, this.storage.length);
    data.set(this.storage);
    return new Tensor(data, this.shape, this.dtype);
  }

  /**
   * Whether the values live in the kernels' memory (`pinMemory`).
   *
   * @example
   * tensor([1, 2, 3]).pinMemory().isPinned(); // true where that memory can be shared
   */
  isPinned(): boolean {
    return pointerOf(this.storage) >= 0;
  }

  /** A leaf copy of the values that requires (or not) gradients. */
  requireGrad(on = true): Tensor {
    return new Tensor(this.storage.slice(), this.shape, this.dtype, { requiresGrad: on });
  }

  /**
   * Back-propagates from this scalar (or from `seed`, a gradient of this
   * tensor's shape) and accumulates into `.grad` of every leaf that requires
   * a gradient. With `createGraph`, the gradients are themselves graphs.
   */
  backward(seed?: Tensor, options: { createGraph?: boolean } = {}): void {
    backward(this, seed, options);
  }

  /** A readable listing of the graph that produced this tensor, one node a line. */
  graph(): string {
    return formatGraph(this);
  }

  /** The graph that produced this tensor in Graphviz DOT. */
  toDot(): string {
    return toDot(this);
  }

  toString(): string {
    return `Tensor(${fmt(this.shape)}, ${this.dtype})`;
  }

  // ---- elementwise -----------------------------------------------------------
  add(other: Operand): Tensor {
    return binary('add', this, other);
  }
  sub(other: Operand): Tensor {
    return binary('sub', this, other);
  }
  mul(other: Operand): Tensor {
    return binary('mul', this, other);
  }
  div(other: Operand): Tensor {
    return binary('div', this, other);
  }
  pow(other: Operand): Tensor {
    return binary('pow', this, other);
  }
  maximum(other: Operand): Tensor {
    return binary('maximum', this, other);
  }
  minimum(other: Operand): Tensor {
    return binary('minimum', this, other);
  }
  eq(other: Operand): Tensor {
    return binary('eq', this, other);
  }
  ne(other: Operand): Tensor {
    return binary('ne', this, other);
  }
  lt(other: Operand): Tensor {
    return binary('lt', this, other);
  }
  le(other: Operand): Tensor {
    return binary('le', this, other);
  }
  gt(other: Operand): Tensor {
    return binary('gt', this, other);
  }
  ge(other: Operand): Tensor {
    return binary('ge', this, other);
  }
  neg(): Tensor {
    return unary('neg', this);
  }
  exp(): Tensor {
    return unary('exp', this);
  }
  log(): Tensor {
    return unary('log', this);
  }
  sqrt(): Tensor {
    return unary('sqrt', this);
  }
  abs(): Tensor {
    return unary('abs', this);
  }
  sign(): Tensor {
    return unary('sign', this);
  }
  sin(): Tensor {
    return unary('sin', this);
  }
  cos(): Tensor {
    return unary('cos', this);
  }
  tanh(): Tensor {
    return unary('tanh', this);
  }
  sigmoid(): Tensor {
    return unary('sigmoid', this);
  }
  relu(): Tensor {
    return unary('relu', this);
  }
  /** The error function. */
  erf(): Tensor {
    return unary('erf', this);
  }
  square(): Tensor {
    return this.mul(this);
  }
  /** max(x, αx): lets a little gradient through for negative inputs. */
  leakyRelu(alpha = 0.01): Tensor {
    return where(this.gt(0), this, this.mul(alpha));
  }
  /** Limits values to [lo, hi]. */
  clip(lo: number, hi: number): Tensor {
    return this.maximum(lo).minimum(hi);
  }
  cast(dtype: DType): Tensor {
    return cast(this, dtype);
  }

  // ---- reductions ------------------------------------------------------------
  sum(axes?: Axes, keepdims = false): Tensor {
    return sum(this, axes, keepdims);
  }
  mean(axes?: Axes, keepdims = false): Tensor {
    return mean(this, axes, keepdims);
  }
  max(axes?: Axes, keepdims = false): Tensor {
    return max(this, axes, keepdims);
  }
  min(axes?: Axes, keepdims = false): Tensor {
    return min(this, axes, keepdims);
  }
  argmax(axis?: number, keepdims = false): Tensor {
    return argmax(this, axis, keepdims);
  }
  argmin(axis?: number, keepdims = false): Tensor {
    return argmin(this, axis, keepdims);
  }
  logSumExp(axes?: Axes, keepdims = false): Tensor {
    return logSumExp(this, axes, keepdims);
  }
  softmax(axis = -1): Tensor {
    return softmax(this, axis);
  }
  logSoftmax(axis = -1): Tensor {
    return logSoftmax(this, axis);
  }

  // ---- linear algebra and movement -------------------------------------------
  matmul(other: Tensor, options?: { transA?: boolean; transB?: boolean }): Tensor {
    return matmul(this, other, options);
  }
  reshape(shape: readonly number[]): Tensor {
    return reshape(this, shape);
  }
  flatten(): Tensor {
    return reshape(this, [this.size]);
  }
  permute(axes: readonly number[]): Tensor {
    return permute(this, axes);
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return transpose(this, axis0, axis1);
  }
  broadcastTo(shape: readonly number[]): Tensor {
    return broadcastTo(this, shape);
  }
  expandDims(axis: number): Tensor {
    return expandDims(this, axis);
  }
  squeeze(axes?: Axes): Tensor {
    return squeeze(this, axes);
  }
  slice(
    begin: readonly number[],
    end?: readonly (number | undefined)[],
    step?: readonly number[],
  ): Tensor {
    return slice(this, begin, end, step);
  }
  narrow(axis: number, start: number, length: number): Tensor {
    return narrow(this, axis, start, length);
  }
  concat(others: readonly Tensor[], axis = 0): Tensor {
    return concat([this, ...others], axis);
  }
  indexSelect(axis: number, indices: Tensor): Tensor {
    return indexSelect(this, axis, indices);
  }
  /** See the function `pad`: PyTorch's `F.pad` order, constant or reflect. */
  pad(pads: readonly number[], options?: PadOptions): Tensor {
    return pad(this, pads, options);
  }
  /** See the function `flip`: reverses the order of entries along `axes`. */
  flip(axes: Axes): Tensor {
    return flip(this, axes);
  }

  // ---- convolution and pooling -------------------------------------------------
  /** See the function `conv2d`: this [N, C, H, W] with weight [O, C/groups, kH, kW]. */
  conv2d(weight: Tensor, bias?: Tensor | null, options?: Conv2dOptions): Tensor {
    return conv2d(this, weight, bias, options);
  }
  /** See the function `maxPool2d`: this [N, C, H, W], windows of `kernelSize`. */
  maxPool2d(kernelSize: Pair2, options?: MaxPool2dOptions): Tensor {
    return maxPool2d(this, kernelSize, options);
  }
  /** See the function `avgPool2d`: this [N, C, H, W], windows of `kernelSize`. */
  avgPool2d(kernelSize: Pair2, options?: AvgPool2dOptions): Tensor {
    return avgPool2d(this, kernelSize, options);
  }
}
