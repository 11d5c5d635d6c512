import { describe, expect, it } from 'vitest';
import {
  avgPool2d,
  conv2d,
  convTranspose2d,
  gradcheck,
  maxPool2d,
  pad,
  type Tensor,
  valueAndGrad,
} from '../src/index.js';
import { uniform } from './support.js';

/**
 * Grad of grad through the convolution and pooling VJPs, checked against
 * central differences of the analytic gradient: gradcheck of
 * (x, w) ↦ ⟨∇f(x, w), v⟩. The first derivatives are transposed convolutions,
 * weight gradients and scatters; this differentiates each of those again.
 */
function hvpCheck(f: (...t: Tensor[]) => Tensor, inputs: Tensor[]): number {
  const vs = inputs.map((x, k) => uniform(x.shape as number[], 100 + k));
  const hvp = (...xs: Tensor[]) => {
    const [, gs] = valueAndGrad((...ys: Tensor[]) => f(...ys).sum())(...xs);
    return gs.map((g, k) => g.mul(vs[k]!).sum()).reduce((a, b) => a.add(b));
  };
  return gradcheck(hvp, inputs).maxRelError;
}

// Each check differentiates numerically through every input element: seconds on a busy machine.
const slow = { timeout: 30_000 };

describe('second derivatives through convolutions and pooling', () => {
  it('conv2d (stride, padding, dilation, groups), in input and weight', slow, () => {
    const c = uniform([2, 4, 3, 3], 9);
    const f = (x: Tensor, w: Tensor) =>
      conv2d(x, w, null, { stride: 2, padding: 1, dilation: [2, 1], groups: 2 })
        .tanh()
        .mul(c);
    expect(hvpCheck(f, [uniform([2, 4, 6, 5], 1), uniform([4, 2, 2, 3], 2)])).toBeLessThan(1e-6);
  });

  it("conv2d 'same' then a square, so the Hessian in x alone is not zero", slow, () => {
    const c = uniform([1, 2, 5, 4], 3);
    const f = (x: Tensor, w: Tensor, b: Tensor) =>
      conv2d(x, w, b, { padding: 'same' }).square().mul(c);
    expect(
      hvpCheck(f, [uniform([1, 3, 5, 4], 4), uniform([2, 3, 2, 3], 5), uniform([2], 6)]),
    ).toBeLessThan(1e-6);
  });

  it('convTranspose2d', slow, () => {
    const f = (x: Tensor, w: Tensor) =>
      convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }).sin();
    expect(hvpCheck(f, [uniform([1, 2, 3, 3], 7), uniform([2, 3, 3, 3], 8)])).toBeLessThan(1e-6);
  });

  it('maxPool2d and avgPool2d after a conv', slow, () => {
    const f = (x: Tensor, w: Tensor) => {
      const y = conv2d(x, w, null, { padding: 1 });
      return maxPool2d(y, 2)
        .square()
        .add(avgPool2d(y, 3, { stride: 2, padding: 1 }).exp());
    };
    expect(hvpCheck(f, [uniform([1, 2, 6, 6], 10), uniform([2, 2, 3, 3], 11)])).toBeLessThan(1e-6);
  });

  it('reflect padding and strided slicing', slow, () => {
    const f = (x: Tensor) =>
      pad(x, [2, 1, 1, 1], { mode: 'reflect' })
        .slice([0, 0, 1], [undefined, undefined, undefined], [1, 2, 2])
        .pow(3);
    expect(hvpCheck(f, [uniform([2, 3, 4], 12)])).toBeLessThan(1e-6);
  });
});
