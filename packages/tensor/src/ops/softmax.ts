import { arange } from '../create.js';
import type { TypedArray } from '../dtype.js';
import { apply } from '../engine.js';
import { DTypeError, fmt, ShapeError } from '../errors.js';
import { expRows } from '../kernels/exp.js';
import { defineOp, type Kernel, type Op, type Spec } from '../op.js';
import { normalizeAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { batchAll } from '../transforms/rules.js';

/**
 * softmax and logSoftmax along one axis, each a single fused pass per row,
 * stable by subtracting the row's maximum. Their VJPs are written on the
 * output node, so second derivatives go through. The composed forms
 * (`exp(x − logSumExp(x))`) are the oracle they are tested against.
 */

function rowKernel(log: boolean) {
  return ([x]: readonly Spec[], _out: Spec, axis: number): Kernel => {
    const n = x!.shape[axis]!;
    const inner = sizeOf(x!.shape.slice(axis + 1));
    const outer = sizeOf(x!.shape.slice(0, axis));
    // Each row's exponentials, kept in float64 so softmax divides the very values it summed.
    const e = log ? null : new Float64Array(n);
    return (o, [a]) => rows(o, a!, outer, inner, n, e);
  };
}

/**
 * What a row's exponentials are taken relative to: its largest value (NaN
 * if it holds one), or 0 where that is infinite, since x − m would then be
 * NaN for the finite entries.
 */
function rowShift(a: TypedArray, base: number, n: number, inner: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    const v = a[base + k * inner]!;
    if (v > m || v !== v) m = v;
  }
  return m === Number.NEGATIVE_INFINITY || m === Number.POSITIVE_INFINITY ? 0 : m;
}

/**
 * The loops of every softmax (`e` given) and logSoftmax (`e` null) kernel,
 * in one function: eager mode builds a kernel per call, and an engine that
 * compiles each new closure's hot loops on its own (Node 24) would otherwise
 * compile these on every call, running them unoptimised meanwhile.
 */
function rows(
  o: TypedArray,
  a: TypedArray,
  outer: number,
  inner: number,
  n: number,
  e: Float64Array | null,
): void {
  const done =
    inner === 1 && a instanceof Float32Array && o instanceof Float32Array && outer * n >= EXP_MIN
      ? expRows(a, outer, n, e ? o : null)
      : null;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      const base = i * n * inner + j;
      const m = done ? done[i]! : Number.NaN;
      if (m !== m) row(o, a, base, n, inner, e);
      else if (!e) {
        const ls = Math.log(done![outer + i]!);
        for (let k = 0; k < n; k++) o[base + k] = a[base + k]! - m - ls;
      }
    }
  }
}

/** Values (rows × their length) below which the WebAssembly kernel is not called: its call costs more than it saves. */
const EXP_MIN = 16;

/** One line of `rows` in JavaScript: where the kernel is missing, or the line out of its range. */
function row(
  o: TypedArray,
  a: TypedArray,
  base: number,
  n: number,
  inner: number,
  e: Float64Array | null,
): void {
  const m = rowShift(a, base, n, inner);
  let s = 0;
  if (e) {
    for (let k = 0; k < n; k++) {
      const v = Math.exp(a[base + k * inner]! - m);
      e[k] = v;
      s += v;
    }
    for (let k = 0; k < n; k++) o[base + k * inner] = e[k]! / s;
  } else {
    for (let k = 0; k < n; k++) s += Math.exp(a[base + k * inner]! - m);
    // (x − m) − log s, not x − (m + log s): at |m| ≈ 1e16 the sum m + log s
    // rounds to m and every log-probability would come out 0.
    const ls = Math.log(s);
    for (let k = 0; k < n; k++) o[base + k * inner] = a[base + k * inner]! - m - ls;
  }
}

function inferFloat(name: string) {
  return ([x]: readonly Tensor[]): Spec => {
    if (x!.dtype === 'int32') throw new DTypeError(`${name}: expected a float tensor, got int32`);
    return { shape: x!.shape, dtype: x!.dtype };
  };
}

export const softmaxOp: Op<number> = defineOp<number>({
  name: 'softmax',
  infer: inferFloat('softmax'),
  kernel: rowKernel(false),
  vjp: (g, _x, out, axis) => [() => out.mul(g.sub(g.mul(out).sum(axis, true)))],
  jvp: ([t], _x, out, axis) => out.mul(t!.sub(t!.mul(out).sum(axis, true))),
  batch: ([x], _b, axis) => apply(softmaxOp, [x!], axis + 1),
  describe: (axis) => `axis=${axis}`,
});

export const logSoftmaxOp: Op<number> = defineOp<number>({
  name: 'logSoftmax',
  infer: inferFloat('logSoftmax'),
  kernel: rowKernel(true),
  vjp: (g, _x, out, axis) => [() => g.sub(out.exp().mul(g.sum(axis, true)))],
  jvp: ([t], _x, out, axis) => t!.sub(out.exp().mul(t!).sum(axis, true)),
  batch: ([x], _b, axis) => apply(logSoftmaxOp, [x!], axis + 1),
  describe: (axis) => `axis=${axis}`,
});

/** exp(x) / Σ exp(x) along `axis` (last by default). */
export function softmax(x: Tensor, axis = -1): Tensor {
  return apply(softmaxOp, [x], normalizeAxis('softmax', axis, x.ndim));
}

/** x − log Σ exp(x) along `axis` (last by default). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return apply(logSoftmaxOp, [x], normalizeAxis('logSoftmax', axis, x.ndim));
}

/**
 * Each row's cross-entropy against its int32 label, from the row's maximum
 * as the logSoftmax kernel works: log Σ exp(x − m) − (x[label] − m), in
 * float64 and rounded once, the value −logSoftmax(x)[label] has. A label
 * outside [0, classes) gives NaN (labels cannot be checked while a step is
 * traced; a NaN loss shows, where a zero would not).
 */
function crossEntropyKernel([x]: readonly Spec[]): Kernel {
  const n = x!.shape[x!.shape.length - 1]!;
  const rows = n === 0 ? 0 : sizeOf(x!.shape) / n;
  return (o, [a, labels]) => crossEntropyRows(o, a!, labels!, rows, n);
}

/** The loops of every cross-entropy kernel, in one function (see `rows`). */
function crossEntropyRows(
  o: TypedArray,
  a: TypedArray,
  labels: TypedArray,
  rows: number,
  n: number,
): void {
  const done = a instanceof Float32Array && rows * n >= EXP_MIN ? expRows(a, rows, n, null) : null;
  for (let r = 0; r < rows; r++) {
    const base = r * n;
    let m = done ? done[r]! : Number.NaN;
    let s = 0;
    if (m === m) s = done![rows + r]!;
    else {
      m = rowShift(a, base, n, 1);
      for (let k = 0; k < n; k++) s += Math.exp(a[base + k]! - m);
    }
    const label = labels[r]!;
    o[r] = label >= 0 && label < n ? Math.log(s) - (a[base + label]! - m) : Number.NaN;
  }
}

/** 1 where the class (last axis) is the row's label, else 0, in `dtype`. */
const labelMask = (labels: Tensor, classes: number, dtype: Tensor['dtype']) =>
  labels.expandDims(-1).eq(arange(classes)).cast(dtype);

export const softmaxCrossEntropyOp: Op<undefined> = defineOp({
  name: 'softmaxCrossEntropy',
  infer: ([x, labels]) => {
    const name = 'softmaxCrossEntropy';
    if (x!.dtype === 'int32') throw new DTypeError(`${name}: logits must be float, got int32`);
    if (labels!.dtype !== 'int32') {
      throw new DTypeError(`${name}: labels must be int32 class indices, got ${labels!.dtype}`);
    }
    const rows = x!.shape.slice(0, -1);
    if (
      x!.ndim === 0 ||
      labels!.ndim !== rows.length ||
      rows.some((d, i) => d !== labels!.shape[i])
    ) {
      throw new ShapeError(
        `${name}: logits ${fmt(x!.shape)} (classes on the last axis) need labels of shape ${fmt(rows)}, got ${fmt(labels!.shape)}`,
      );
    }
    return { shape: rows, dtype: x!.dtype };
  },
  kernel: crossEntropyKernel,
  // d/dx = softmax(x) − onehot(label), times each row's incoming gradient.
  vjp: (g, [x, labels]) => [
    () =>
      softmax(x!)
        .sub(labelMask(labels!, x!.shape[x!.ndim - 1]!, x!.dtype))
        .mul(g.expandDims(-1)),
    null,
  ],
  jvp: ([t], [x, labels]) =>
    t
      ? softmax(x!)
          .sub(labelMask(labels!, x!.shape[x!.ndim - 1]!, x!.dtype))
          .mul(t)
          .sum(-1)
      : null,
  batch: (inputs, batched, _a, size) =>
    apply(softmaxCrossEntropyOp, batchAll(inputs, batched, size), undefined),
});

/**
 * The cross-entropy of each row of `logits` (classes on the last axis)
 * against int32 `labels` of the rows' shape: −logSoftmax(logits)[label],
 * PyTorch's `F.cross_entropy(logits, labels, reduction='none')`, as one
 * fused pass per row (and one for its gradient, softmax − one-hot) instead
 * of logSoftmax, a mask and a sum. A label outside [0, classes) gives NaN.
 *
 * @example
 * softmaxCrossEntropy(tensor([[2, 0, -1]]), tensor([0], { dtype: 'int32' })); // [0.1698]
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  return apply(softmaxCrossEntropyOp, [logits, labels], undefined);
}
