import { describe, expect, it } from 'vitest';
import {
  arange,
  compile,
  DTypeError,
  grad,
  logSoftmax,
  ShapeError,
  softmaxCrossEntropy,
  stack,
  type Tensor,
  tensor,
  vmap,
  where,
} from '../src/index.js';
import { expectAllClose, indices, uniform } from './support.js';

// The fused cross-entropy against its composed oracle, −logSoftmax(x)[label].

/** −logSoftmax(x)[label] per row, composed from the ops (nll of logSoftmax). */
const oracle = (x: Tensor, labels: Tensor) =>
  where(labels.expandDims(-1).eq(arange(x.shape.at(-1)!)), logSoftmax(x), 0)
    .sum(-1)
    .neg();

const bits = (t: Tensor) => Array.from(t.data, (v) => (Object.is(v, -0) ? '-0' : String(v)));

describe('softmaxCrossEntropy', () => {
  it('gives the bits of −logSoftmax(x)[label], in float32 and float64, at any magnitude', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const scale of [1, 30, 1e4]) {
        const x = uniform([6, 10], 3).mul(scale).cast(dtype);
        const labels = indices([6], 10, 4);
        const got = softmaxCrossEntropy(x, labels);
        expect(got.dtype).toBe(dtype);
        expect(got.shape).toEqual([6]);
        expect(bits(got)).toEqual(bits(oracle(x, labels)));
        expect(got.data.every(Number.isFinite)).toBe(true);
      }
    }
    // −∞ logits: a class that cannot be is ∞ away; the others are unaffected.
    const x = tensor([[0, Number.NEGATIVE_INFINITY, 1]]);
    expect(bits(softmaxCrossEntropy(x, tensor([1], { dtype: 'int32' })))).toEqual(['Infinity']);
    expect(bits(softmaxCrossEntropy(x, tensor([2], { dtype: 'int32' })))).toEqual(
      bits(oracle(x, tensor([2], { dtype: 'int32' }))),
    );
  });

  it('gives NaN for a label outside the classes, not a silent zero', () => {
    const x = uniform([3, 4], 5);
    const got = softmaxCrossEntropy(x, tensor([0, 4, -1], { dtype: 'int32' }));
    expect(Number.isNaN(got.data[1]!) && Number.isNaN(got.data[2]!)).toBe(true);
    expect(Number.isFinite(got.data[0]!)).toBe(true);
  });

  it('has the gradient of the composed form, softmax − one-hot, and compiled gives eager bits', () => {
    const x = uniform([5, 7], 6, -3, 3);
    const labels = indices([5], 7, 7);
    const w = uniform([5], 8);
    const fused = grad((v: Tensor) => softmaxCrossEntropy(v, labels).mul(w).sum())(x);
    const composed = grad((v: Tensor) => oracle(v, labels).mul(w).sum())(x);
    expectAllClose(fused.data, composed.data, { rtol: 1e-12, atol: 1e-15 });

    const x32 = x.cast('float32');
    const step = (v: Tensor) => grad((u: Tensor) => softmaxCrossEntropy(u, labels).mean())(v);
    expect(bits(compile(step)(x32))).toEqual(bits(step(x32)));
  });

  it('batches per-example labels under vmap as a loop over examples does', () => {
    const x = uniform([3, 4, 5], 9, -2, 2);
    const labels = indices([3, 4], 5, 10);
    const got = vmap((a: Tensor, l: Tensor) => softmaxCrossEntropy(a, l))(x, labels) as Tensor;
    const loop = stack(
      [0, 1, 2].map((b) =>
        softmaxCrossEntropy(x.narrow(0, b, 1).squeeze(0), labels.narrow(0, b, 1).squeeze(0)),
      ),
    );
    expect(bits(got)).toEqual(bits(loop));
  });

  it('refuses int logits, float labels and labels not of the rows’ shape, naming the shapes', () => {
    const labels = tensor([0, 1], { dtype: 'int32' });
    expect(() => softmaxCrossEntropy(tensor([[1, 2]], { dtype: 'int32' }), labels)).toThrow(
      DTypeError,
    );
    expect(() => softmaxCrossEntropy(uniform([2, 3], 1), tensor([0, 1]))).toThrow(
      /softmaxCrossEntropy: labels must be int32 class indices, got float32/,
    );
    expect(() => softmaxCrossEntropy(uniform([3, 4], 1), labels)).toThrow(ShapeError);
    expect(() => softmaxCrossEntropy(uniform([3, 4], 1), labels)).toThrow(
      'softmaxCrossEntropy: logits [3, 4] (classes on the last axis) need labels of shape [3], got [2]',
    );
  });
});
