import { grad, randn, stack, type Tensor, tensor, vmap } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { crossEntropy, LossError } from '../src/index.js';

/** Per-example gradients through nn's losses, as differential privacy computes them. */
describe('losses under vmap', () => {
  const w = randn([5, 4], { rng: 1, dtype: 'float64' });
  const x = randn([6, 4], { rng: 2, dtype: 'float64' });
  const loss = (wi: Tensor, xi: Tensor, yi: Tensor) =>
    crossEntropy(xi.matmul(wi, { transB: true }).expandDims(0), yi.expandDims(0));
  const perExample = vmap(grad(loss) as (...a: Tensor[]) => Tensor[], { inAxes: [null, 0, 0] });

  it('crossEntropy with int32 labels gives the gradients of a loop over examples', () => {
    const y = tensor([1, 2, 3, 4, 0, 1], { dtype: 'int32' });
    const [dw] = perExample(w, x, y) as Tensor[];
    const loop = stack(
      [0, 1, 2, 3, 4, 5].map(
        (i) =>
          (grad(loss) as (...a: Tensor[]) => Tensor[])(
            w,
            x.narrow(0, i, 1).reshape([4]),
            y.narrow(0, i, 1).reshape([]),
          )[0]!,
      ),
    );
    expect(dw!.shape).toEqual([6, 5, 4]);
    const diff = dw!.sub(loop).abs().max().item();
    expect(diff).toBeLessThan(1e-12);
  });

  it('still refuses a label outside the classes in any example', () => {
    const y = tensor([1, 2, 3, 9, 0, 1], { dtype: 'int32' });
    expect(() => perExample(w, x, y)).toThrow(LossError);
    expect(() => perExample(w, x, y)).toThrow(/label 9/);
  });
});
