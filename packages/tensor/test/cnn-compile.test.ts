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
  zeros,
} from '../src/index.js';

/** conv 3×3×4 → relu → maxpool 2 → conv 3×3×6 (stride 1, padding 1) → relu → flatten → dense 5, plain SGD. */
function makeCnn(seed: number) {
  const rng = new Rng(seed);
  const he = (shape: number[], fanIn: number) =>
    randn(shape, { rng })
      .mul(Math.sqrt(2 / fanIn))
      .requireGrad();
  const params = [
    he([4, 2, 3, 3], 18),
    zeros([4], { requiresGrad: true }),
    he([6, 4, 3, 3], 36),
    zeros([6], { requiresGrad: true }),
    he([5, 6 * 5 * 4], 120),
    zeros([5], { requiresGrad: true }),
  ];
  const [w1, b1, w2, b2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  const step = (x: Tensor, y: Tensor) => {
    for (const p of params) p.grad = null;
    let h = conv2d(x, w1, b1).relu(); // [N, 4, 10, 9]
    h = maxPool2d(h, 2); // [N, 4, 5, 4]
    h = conv2d(h, w2, b2, { padding: 1 }).relu(); // [N, 6, 5, 4]
    const logits = h.reshape([x.shape[0]!, -1]).matmul(w3, { transB: true }).add(b3);
    const loss = logits.logSoftmax().mul(oneHot(y, 5)).sum(1).mean().neg();
    loss.backward();
    noGrad(() => {
      for (const p of params) assignInPlace(p, p.sub(p.grad!.mul(0.05)));
    });
    return loss;
  };
  return { params, step };
}

function batch(seed: number, n: number): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const x = randn([n, 2, 12, 11], { rng });
  const y = zeros([n], { dtype: 'int32' });
  for (let i = 0; i < n; i++) y.data[i] = rng.int(5);
  return [x, y];
}

describe('compile of a CNN training step', () => {
  it('gives the same bits as eager: loss, gradients and updated weights', () => {
    const eager = makeCnn(3);
    const compiled = makeCnn(3);
    const step = compile(compiled.step);
    const losses: number[] = [];
    for (let s = 0; s < 4; s++) {
      const [x, y] = batch(40 + s, 6);
      const le = eager.step(x, y).item();
      const lc = (step(x, y) as Tensor).item();
      expect(lc).toBe(le);
      losses.push(le);
    }
    eager.params.forEach((p, i) => {
      expect(Array.from(compiled.params[i]!.data)).toEqual(Array.from(p.data));
      expect(Array.from(compiled.params[i]!.grad!.data)).toEqual(Array.from(p.grad!.data));
    });
    // The steps trained: the weights moved away from their initial values.
    const fresh = makeCnn(3);
    expect(Array.from(eager.params[0]!.data)).not.toEqual(Array.from(fresh.params[0]!.data));
  });

  it('learns a fixed batch', () => {
    const model = makeCnn(4);
    const step = compile(model.step);
    const [x, y] = batch(7, 6);
    const first = (step(x, y) as Tensor).item();
    let last = first;
    for (let s = 0; s < 30; s++) last = (step(x, y) as Tensor).item();
    expect(last).toBeLessThan(first * 0.5);
  });

  it("keeps only relu's output for the gradient: conv + bias is fused into relu's loop, not stored", () => {
    // Sigmoid's gradient reads its output: relu's plan must hold no more than sigmoid's.
    const plan = (act: (t: Tensor) => Tensor) => {
      const rng = new Rng(5);
      const w = randn([4, 2, 3, 3], { rng }).requireGrad();
      const b = randn([4], { rng }).requireGrad();
      const step = compile((x: Tensor) => {
        w.grad = null;
        b.grad = null;
        const loss = act(conv2d(x, w, b))
          .square()
          .sum();
        loss.backward();
        return loss;
      });
      step(randn([3, 2, 12, 11], { rng }));
      return step.plans()[0]!;
    };
    const relu = plan((t) => t.relu());
    const sigmoid = plan((t) => t.sigmoid());
    expect(relu.launches).toBe(sigmoid.launches);
    expect(relu.bufferBytes).toBeLessThanOrEqual(sigmoid.bufferBytes);
  });
});
