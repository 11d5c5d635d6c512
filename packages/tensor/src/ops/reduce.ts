import type { TypedArray } from '../dtype.js';
import { apply } from '../engine.js';
import { fmt, ShapeError } from '../errors.js';
import { argmaxRows } from '../kernels/argmax.js';
import { blockSumKernel } from '../kernels/block-sum.js';
import { stridedLoop } from '../kernels/strided.js';
import { defineOp, type Kernel, type Op, type Spec } from '../op.js';
import { normalizeAxes, normalizeAxis, reducedShape, sizeOf, stridesOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { linear, noTangent, shift } from '../transforms/rules.js';
import { where } from './elementwise.js';

/** Which axes to reduce (`undefined`: all) and whether to keep them as 1s. */
export interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

/**
 * One pass over the input, accumulating into a float64 scratch row laid out
 * as the output; the scratch is allocated once per kernel, not per call.
 */
function reduceKernel(init: number, body: string) {
  return (inputs: readonly Spec[], out: Spec, { axes }: ReduceAttrs): Kernel => {
    const inShape = inputs[0]!.shape;
    const kept = reducedShape(inShape, axes, true);
    const keptStrides = stridesOf(kept);
    const outStrides = inShape.map((_, d) => (axes.includes(d) ? 0 : keptStrides[d]!));
    const loop = stridedLoop({
      shape: inShape,
      outStrides,
      inStrides: [stridesOf(inShape)],
      body,
    });
    const acc = new Float64Array(sizeOf(out.shape));
    return (o, ins) => {
      acc.fill(init);
      loop(acc, ins);
      o.set(acc);
    };
  };
}

function inferReduce() {
  return ([x]: readonly Tensor[], { axes, keepdims }: ReduceAttrs): Spec => ({
    shape: reducedShape(x!.shape, axes, keepdims),
    dtype: x!.dtype,
  });
}

const describe = ({ axes, keepdims }: ReduceAttrs) =>
  `axes=[${axes.join(',')}]${keepdims ? ' keepdims' : ''}`;

/** Restores reduced axes as 1s so a reduced result broadcasts against its input. */
function unreduce(g: Tensor, x: Tensor, { axes, keepdims }: ReduceAttrs): Tensor {
  return keepdims ? g : g.reshape(reducedShape(x.shape, axes, true));
}

const sumKernel = reduceKernel(0, 'O[o] += x0;');

/**
 * A sum over the axes before and after a block of kept axes (a conv bias's
 * gradient: [N, C, H, W] to [1, C, 1, 1]), summing each contiguous run in a
 * local instead of through the output buffer element by element: the same
 * elements in the same order for each output (the same float64 sums, the
 * same bits), three times faster.
 */
function blockSum(inputs: readonly Spec[], out: Spec, attrs: ReduceAttrs): Kernel {
  const shape = inputs[0]!.shape;
  const kept = shape.map((_, d) => !attrs.axes.includes(d));
  // With no axis kept, the block is empty: one run, the whole tensor.
  const a = Math.max(kept.indexOf(true), 0);
  const b = kept.lastIndexOf(true) + 1;
  const inner = sizeOf(shape.slice(b));
  const outer = sizeOf(shape.slice(0, a));
  const mid = sizeOf(shape.slice(a, b));
  const block = !kept.slice(a, b).includes(false);
  // The trailing axes kept (a bias's gradient, [N, C] to [C]): column sums.
  if (block && inner === 1 && b > 0 && mid > 1) {
    return (o, [x]) => columnSums(o, x!, outer, mid);
  }
  if (!block || inner < 2) return sumKernel(inputs, out, attrs);
  const x32 = inputs[0]!.dtype === 'float32' && out.dtype === 'float32';
  const acc = new Float64Array(mid);
  const threaded = x32 ? blockSumKernel(outer, mid, inner) : null;
  // Four outputs' runs at a time: four independent chains of additions, each
  // in its own order, instead of one chain waiting on each addition's latency.
  const quads = mid - (mid % 4);
  return (o, [x]) => {
    // Big float32 inputs in the kernels' memory: the same sums, on the threads.
    if (threaded?.(o as Float32Array, x as Float32Array)) return;
    sumBlocks(o, x!, acc, outer, mid, inner, quads);
  };
}

/**
 * The loops of `blockSum`, one function for every kernel it builds: eager
 * mode builds a kernel per call, and an engine that compiles each new
 * closure's hot loops on its own (Node 24) would otherwise compile these on
 * every call, running them unoptimised meanwhile.
 */
function sumBlocks(
  o: TypedArray,
  X: TypedArray,
  acc: Float64Array,
  outer: number,
  mid: number,
  inner: number,
  quads: number,
): void {
  acc.fill(0);
  for (let p = 0; p < outer; p++) {
    const row = p * mid * inner;
    let m = 0;
    for (; m < quads; m += 4) {
      let s0 = acc[m]!;
      let s1 = acc[m + 1]!;
      let s2 = acc[m + 2]!;
      let s3 = acc[m + 3]!;
      const a = row + m * inner;
      for (let i = a, end = a + inner; i < end; i++) {
        s0 += X[i]!;
        s1 += X[i + inner]!;
        s2 += X[i + 2 * inner]!;
        s3 += X[i + 3 * inner]!;
      }
      acc[m] = s0;
      acc[m + 1] = s1;
      acc[m + 2] = s2;
      acc[m + 3] = s3;
    }
    for (; m < mid; m++) {
      let s = acc[m]!;
      for (let i = row + m * inner, end = i + inner; i < end; i++) s += X[i]!;
      acc[m] = s;
    }
  }
  o.set(acc);
}

/**
 * Each column's sum of `rows` rows of `cols` values in X: four columns at a
 * time, each added in row order in float64 from 0, as `sum`'s general loop
 * adds them (the same bits), in locals rather than through an accumulator
 * array, which cost a load and a store per value.
 */
function columnSums(o: TypedArray, X: TypedArray, rows: number, cols: number): void {
  const end = rows * cols;
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let i = c; i < end; i += cols) {
      s0 += X[i]!;
      s1 += X[i + 1]!;
      s2 += X[i + 2]!;
      s3 += X[i + 3]!;
    }
    o[c] = s0;
    o[c + 1] = s1;
    o[c + 2] = s2;
    o[c + 3] = s3;
  }
  for (; c < cols; c++) {
    let s = 0;
    for (let i = c; i < end; i += cols) s += X[i]!;
    o[c] = s;
  }
}

export const sumOp: Op<ReduceAttrs> = defineOp<ReduceAttrs>({
  name: 'sum',
  infer: inferReduce(),
  kernel: blockSum,
  vjp: (g, [x], _out, attrs) => [() => unreduce(g, x!, attrs).broadcastTo(x!.shape)],
  jvp: linear(() => sumOp),
  batch: ([x], _b, { axes, keepdims }) => apply(sumOp, [x!], { axes: shift(axes), keepdims }),
  describe,
});

export const maxOp: Op<ReduceAttrs> = defineOp<ReduceAttrs>({
  name: 'max',
  infer: inferReduce(),
  kernel: reduceKernel(Number.NEGATIVE_INFINITY, 'if (x0 > O[o] || x0 !== x0) O[o] = x0;'),
  // The gradient is shared equally between tied maxima.
  vjp: (g, [x], out, attrs) => [
    () => {
      const mask = x!.eq(unreduce(out, x!, attrs));
      const share = mask.div(mask.sum(attrs.axes, true));
      return unreduce(g, x!, attrs).mul(share);
    },
  ],
  jvp: ([t], [x], out, attrs) => {
    const mask = x!.eq(unreduce(out, x!, attrs));
    const share = mask.div(mask.sum(attrs.axes, true));
    return t!.mul(share).sum(attrs.axes, attrs.keepdims);
  },
  batch: ([x], _b, { axes, keepdims }) => apply(maxOp, [x!], { axes: shift(axes), keepdims }),
  describe,
});

/** Index of the largest value along `axis` (flattened when absent), as int32. */
export const argmaxOp: Op<{ axis: number | null; keepdims: boolean }> = defineOp<{
  axis: number | null;
  keepdims: boolean;
}>({
  name: 'argmax',
  infer: ([x], { axis, keepdims }) => ({
    shape:
      axis === null
        ? reducedShape(
            x!.shape,
            x!.shape.map((_, d) => d),
            keepdims,
          )
        : reducedShape(x!.shape, [axis], keepdims),
    dtype: 'int32',
  }),
  kernel: ([x], _out, { axis }) => {
    const shape = axis === null ? [sizeOf(x!.shape)] : x!.shape;
    const ax = axis ?? 0;
    const n = shape[ax]!;
    const inner = sizeOf(shape.slice(ax + 1));
    const outer = sizeOf(shape.slice(0, ax));
    return (o, [a]) => {
      for (let i = 0; i < outer; i++) {
        for (let j = 0; j < inner; j++) {
          const base = i * n * inner + j;
          let best = 0;
          let bestValue = a![base]!;
          for (let k = 1; k < n; k++) {
            const v = a![base + k * inner]!;
            // Selects, not a branch: which value wins is unpredictable (a
            // classifier's logits), and a mispredicted branch per value made
            // this 2.3× slower (argmax of 1000×10: 35 → 15 µs).
            const take = v > bestValue || (v !== v && bestValue === bestValue);
            best = take ? k : best;
            bestValue = take ? v : bestValue;
          }
          o[i * inner + j] = best;
        }
      }
    };
  },
  // Over the last axis each row of the leading one is its own: a compiled
  // plan may run it in blocks of rows with the steps before it. Over the
  // leading axis itself every index reads every row, so it is not.
  rowSplit: ([x], _out, { axis }) => {
    const shape = x!.shape;
    if (axis === null || axis < 1 || shape.length < 2 || x!.dtype !== 'float32') return null;
    if (sizeOf(shape.slice(axis + 1)) !== 1) return null;
    const n = shape[axis]!;
    const outer = sizeOf(shape.slice(0, axis));
    return n > 0 && outer > 0 ? argmaxRows(shape[0]!, outer / shape[0]!, n) : null;
  },
  jvp: noTangent,
  // Over all axes of each example: its values as one row.
  batch: ([x], _b, { axis, keepdims }) => {
    if (axis !== null) return apply(argmaxOp, [x!], { axis: axis + 1, keepdims });
    const [n, ...rest] = x!.shape;
    const flat = apply(argmaxOp, [x!.reshape([n!, -1])], { axis: 1, keepdims: false });
    return keepdims ? flat.reshape([n!, ...rest.map(() => 1)]) : flat;
  },
  describe: ({ axis }) => `axis=${axis}`,
});

export function sum(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  return apply(sumOp, [x], { axes: normalizeAxes('sum', axes, x.ndim), keepdims });
}

/** max, or min as −max(−x), refusing an empty axis: a maximum of nothing has no value. */
function extremum(
  name: 'max' | 'min',
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepdims: boolean,
): Tensor {
  const list = normalizeAxes(name, axes, x.ndim);
  const out = reducedShape(x.shape, list, keepdims);
  if (list.some((a) => x.shape[a] === 0) && sizeOf(out) > 0) {
    throw new ShapeError(
      `${name}: cannot reduce an empty axis of a tensor of shape ${fmt(x.shape)} (axes [${list.join(', ')}])`,
    );
  }
  if (name === 'min') return apply(maxOp, [x.neg()], { axes: list, keepdims }).neg();
  return apply(maxOp, [x], { axes: list, keepdims });
}

export function max(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  return extremum('max', x, axes, keepdims);
}

export function min(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  return extremum('min', x, axes, keepdims);
}

export function mean(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const list = normalizeAxes('mean', axes, x.ndim);
  const count = list.reduce((n, a) => n * x.shape[a]!, 1);
  const s = sum(x.dtype === 'int32' ? x.cast('float32') : x, list, keepdims);
  return s.div(count);
}

export function argmax(x: Tensor, axis?: number, keepdims = false): Tensor {
  const ax = axis === undefined ? null : normalizeAxis('argmax', axis, x.ndim);
  return apply(argmaxOp, [x], { axis: ax, keepdims });
}

export function argmin(x: Tensor, axis?: number, keepdims = false): Tensor {
  return argmax(x.neg(), axis, keepdims);
}

/**
 * log Σ exp(x) over `axes`, shifted by the (constant) maximum so that large
 * logits neither overflow nor lose precision.
 */
export function logSumExp(x: Tensor, axes?: number | readonly number[], keepdims = false): Tensor {
  const list = normalizeAxes('logSumExp', axes, x.ndim);
  const m = max(x, list, true).detach();
  // An all −∞ row would give −∞ − −∞ = NaN: shift such rows by 0 instead.
  const safe = where(m.abs().lt(Number.POSITIVE_INFINITY), m, 0);
  const out = x.sub(safe).exp().sum(list, true).log().add(safe);
  return keepdims ? out : out.reshape(reducedShape(x.shape, list, false));
}
