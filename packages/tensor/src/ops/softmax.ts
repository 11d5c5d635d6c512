import { apply } from '../engine.js';
import { DTypeError } from '../errors.js';
import { defineOp, type Kernel, type Op, type Spec } from '../op.js';
import { normalizeAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';

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
    return (o, [a]) => {
      for (let i = 0; i < outer; i++) {
        for (let j = 0; j < inner; j++) {
          const base = i * n * inner + j;
          let m = Number.NEGATIVE_INFINITY;
          for (let k = 0; k < n; k++) {
            const v = a![base + k * inner]!;
            if (v > m || v !== v) m = v;
          }
          // An infinite maximum would turn x − m into NaN for the finite entries.
          if (m === Number.NEGATIVE_INFINITY || m === Number.POSITIVE_INFINITY) m = 0;
          let s = 0;
          for (let k = 0; k < n; k++) s += Math.exp(a![base + k * inner]! - m);
          if (log) {
            // (x − m) − log s, not x − (m + log s): at |m| ≈ 1e16 the sum m + log s
            // rounds to m and every log-probability would come out 0.
            const ls = Math.log(s);
            for (let k = 0; k < n; k++) o[base + k * inner] = a![base + k * inner]! - m - ls;
          } else {
            for (let k = 0; k < n; k++)
              o[base + k * inner] = Math.exp(a![base + k * inner]! - m) / s;
          }
        }
      }
    };
  };
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
