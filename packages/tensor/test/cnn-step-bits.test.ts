import { describe, expect, it } from 'vitest';
import {
  assignInPlace,
  compile,
  conv2d,
  maxPool2d,
  noGrad,
  oneHot,
  Rng,
  randn,
  type Tensor,
  tensor,
  zeros,
} from '../src/index.js';

/**
 * The small CNN of the benchmarks at its real image size (batch 8): its
 * activations are large enough to take every WebAssembly path (implicit-GEMM
 * convolutions, SIMD max pooling, chunked SIMD loops with a per-channel bias).
 */
function cnn(seed: number) {
  const rng = new Rng(seed);
  const he = (shape: number[], fanIn: number) =>
    randn(shape, { rng })
      .mul(Math.sqrt(2 / fanIn))
      .requireGrad();
  const params = [
    he([8, 1, 5, 5], 25),
    zeros([8], { requiresGrad: true }),
    he([16, 8, 5, 5], 200),
    zeros([16], { requiresGrad: true }),
    he([10, 256], 256),
    zeros([10], { requiresGrad: true }),
  ];
  const [w1, b1, w2, b2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const m = params.map((p) => zeros(p.shape));
  const v = params.map((p) => zeros(p.shape));
  const lr = tensor([1e-3]);
  const step = (x: Tensor, y: Tensor) => {
    for (const p of params) p.grad = null;
    let h = maxPool2d(conv2d(x, w1, b1).relu(), 2);
    h = maxPool2d(conv2d(h, w2, b2).relu(), 2);
    const logits = h.reshape([x.shape[0]!, 256]).matmul(w3, { transB: true }).add(b3);
    const loss = logits.logSoftmax().mul(oneHot(y, 10)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      params.forEach((p, i) => {
        const g = p.grad!;
        assignInPlace(m[i]!, m[i]!.mul(0.9).add(g.mul(0.1)));
        assignInPlace(v[i]!, v[i]!.mul(0.999).add(g.mul(g).mul(0.001)));
        assignInPlace(p, p.sub(lr.mul(m[i]!).div(v[i]!.sqrt().add(1e-8))));
      });
    });
    return loss;
  };
  return { params, step };
}

describe('the small CNN at full image size', () => {
  it('trains to the same bits eager and compiled', () => {
    const eager = cnn(1);
    const compiled = cnn(1);
    const step = compile(compiled.step);
    const rng = new Rng(2);
    for (let s = 0; s < 3; s++) {
      const x = randn([8, 1, 28, 28], { rng }).relu(); // images: about half zeros
      const y = zeros([8], { dtype: 'int32' });
      for (let i = 0; i < 8; i++) y.data[i] = rng.int(10);
      expect((step(x, y) as Tensor).item()).toBe(eager.step(x, y).item());
    }
    eager.params.forEach((p, i) => {
      expect(compiled.params[i]!.data).toEqual(p.data);
    });
  });
});
