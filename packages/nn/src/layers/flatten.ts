import { AxisError, ShapeError, type Tensor } from '@neurite/tensor';
import { Module } from '../module.js';

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * The shape `Flatten(startDim, endDim)` makes of `shape`: the axes from
 * `startDim` to `endDim` (inclusive, negative counting from the end)
 * collapsed into one, as PyTorch's `flatten`.
 *
 * @example
 * flattenShape([64, 16, 4, 4], 1, -1); // [64, 256]
 */
export function flattenShape(shape: readonly number[], startDim: number, endDim: number): number[] {
  const n = shape.length;
  const rank = Math.max(n, 1);
  const start = startDim < 0 ? startDim + rank : startDim;
  const end = endDim < 0 ? endDim + rank : endDim;
  if (start < 0 || start >= rank || end < 0 || end >= rank) {
    throw new AxisError(
      `Flatten: dims ${startDim}…${endDim} are out of range for a tensor of shape ${fmt(shape)} (rank ${n})`,
    );
  }
  if (start > end) {
    throw new AxisError(
      `Flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${fmt(shape)}`,
    );
  }
  if (n === 0) return [1];
  let merged = 1;
  for (let i = start; i <= end; i++) merged *= shape[i]!;
  return [...shape.slice(0, start), merged, ...shape.slice(end + 1)];
}

/**
 * Collapses the axes from `startDim` to `endDim` into one, as PyTorch's
 * `nn.Flatten` (defaults 1 and −1: every axis but the batch axis):
 * [N, 16, 4, 4] → [N, 256].
 *
 * @example
 * new Flatten().forward(images).shape;       // [batch, 784]
 * new Flatten(2).forward(features).shape;    // [N, C, H·W]
 */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
    for (const [what, d] of [
      ['startDim', startDim],
      ['endDim', endDim],
    ] as const) {
      if (!Number.isInteger(d))
        throw new RangeError(`Flatten: ${what} must be an integer, got ${d}`);
    }
  }

  forward(x: Tensor): Tensor {
    return x.reshape(flattenShape(x.shape, this.startDim, this.endDim));
  }

  override toString(): string {
    return this.startDim === 1 && this.endDim === -1
      ? 'Flatten'
      : `Flatten(${this.startDim}, ${this.endDim})`;
  }
}

/**
 * The per-sample shape `Reshape(shape)` makes of a sample of `sample`
 * elements: `shape` with its one −1 (if any) filled in.
 *
 * @example
 * reshapeShape([784], [1, 28, -1]); // [1, 28, 28]
 */
export function reshapeShape(sample: readonly number[], shape: readonly number[]): number[] {
  const size = sample.reduce((a, b) => a * b, 1);
  const free = shape.filter((d) => d === -1).length;
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const bad = shape.find((d) => !(Number.isInteger(d) && (d > 0 || d === -1)));
  if (bad !== undefined || free > 1) {
    throw new RangeError(
      `Reshape: shape ${fmt(shape)} must hold positive integers and at most one -1`,
    );
  }
  if (free === 0 ? known !== size : size % known !== 0) {
    throw new ShapeError(
      `Reshape: a sample of shape ${fmt(sample)} (${size} elements) cannot be reshaped to ${fmt(shape)}`,
    );
  }
  return shape.map((d) => (d === -1 ? size / known : d));
}

/**
 * Reshapes each sample, keeping the batch axis (Keras' `Reshape`; PyTorch
 * writes `x.view(x.size(0), …)`): [N, 784] → [N, 1, 28, 28] with
 * `new Reshape([1, 28, 28])`. One entry may be −1, inferred from the rest.
 *
 * @example
 * new Reshape([1, 28, 28]).forward(pixels).shape; // [N, 1, 28, 28]
 */
export class Reshape extends Module {
  readonly shape: readonly number[];

  constructor(shape: readonly number[]) {
    super();
    this.shape = [...shape];
    reshapeShape([this.shape.reduce((a, d) => (d === -1 ? a : a * d), 1)], this.shape);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0)
      throw new ShapeError(`${this.toString()}: input must have a batch axis, got a scalar`);
    return x.reshape([x.shape[0]!, ...reshapeShape(x.shape.slice(1), this.shape)]);
  }

  override toString(): string {
    return `Reshape(${fmt(this.shape)})`;
  }
}
