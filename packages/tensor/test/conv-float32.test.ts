import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conv1d, conv2d, convTranspose2d, type Tensor, valueAndGrad } from '../src/index.js';
import { expectAllClose, uniform } from './support.js';

/**
 * Float32 convolutions (which take the WebAssembly kernels where they cover
 * the geometry) against float64 ones (the JavaScript lowering onto the GEMM,
 * itself checked against PyTorch): forward values and both gradients, over
 * random strides, padding, dilation, groups and sizes.
 */
const settings = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 4 }),
    og: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 12 }),
    w: fc.integer({ min: 1, max: 12 }),
    kh: fc.integer({ min: 1, max: 5 }),
    kw: fc.integer({ min: 1, max: 5 }),
    s: fc.integer({ min: 1, max: 2 }),
    p: fc.integer({ min: 0, max: 2 }),
    d: fc.integer({ min: 1, max: 2 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  })
  .filter((c) => c.d * (c.kh - 1) + 1 <= c.h + 2 * c.p && c.d * (c.kw - 1) + 1 <= c.w + 2 * c.p);

/** Values and gradients of ⟨f(x, w), v⟩ in float64 and in float32. */
function both(f: (x: Tensor, w: Tensor) => Tensor, x: Tensor, w: Tensor) {
  const run = (dtype: 'float32' | 'float64') => {
    const y = f(x.cast(dtype), w.cast(dtype));
    const v = uniform(y.shape as number[], 5).cast(dtype);
    const [, grads] = valueAndGrad((a: Tensor, b: Tensor) => f(a, b).mul(v).sum())(
      x.cast(dtype),
      w.cast(dtype),
    );
    return [y, ...grads];
  };
  return [run('float64'), run('float32')] as const;
}

function agree(f: (x: Tensor, w: Tensor) => Tensor, x: Tensor, w: Tensor): void {
  const [exact, single] = both(f, x, w);
  exact.forEach((t, k) => {
    expect(single[k]!.dtype).toBe('float32');
    expectAllClose(single[k]!.data, t.data, { rtol: 1e-4, atol: 1e-4 });
  });
}

describe('float32 convolutions agree with float64', () => {
  it('conv2d, its input and weight gradients', () => {
    fc.assert(
      fc.property(settings, (c) => {
        const x = uniform([c.n, c.groups * c.cg, c.h, c.w], c.seed);
        const w = uniform([c.groups * c.og, c.cg, c.kh, c.kw], c.seed + 1);
        agree(
          (a, b) =>
            conv2d(a, b, null, { stride: c.s, padding: c.p, dilation: c.d, groups: c.groups }),
          x,
          w,
        );
      }),
      { numRuns: 60 },
    );
  }, 30_000);

  it('convTranspose2d', () => {
    fc.assert(
      fc.property(settings, (c) => {
        const x = uniform([c.n, c.groups * c.cg, c.h, c.w], c.seed);
        const w = uniform([c.groups * c.cg, c.og, c.kh, c.kw], c.seed + 1);
        const out = (n: number, k: number) => (n - 1) * c.s - 2 * c.p + c.d * (k - 1) + 1;
        fc.pre(out(c.h, c.kh) > 0 && out(c.w, c.kw) > 0);
        agree(
          (a, b) =>
            convTranspose2d(a, b, null, {
              stride: c.s,
              padding: c.p,
              dilation: c.d,
              groups: c.groups,
            }),
          x,
          w,
        );
      }),
      { numRuns: 60 },
    );
  }, 30_000);

  it("conv1d, and the small CNN's shapes", () => {
    agree(
      (a, b) => conv1d(a, b, null, { padding: 'same', dilation: 2 }),
      uniform([2, 3, 17], 1),
      uniform([4, 3, 4], 2),
    );
    agree((a, b) => conv2d(a, b), uniform([4, 1, 28, 28], 3), uniform([8, 1, 5, 5], 4));
    agree((a, b) => conv2d(a, b), uniform([4, 8, 12, 12], 5), uniform([16, 8, 5, 5], 6));
  });
});
