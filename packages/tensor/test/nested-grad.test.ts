import { describe, expect, it } from 'vitest';
import {
  grad,
  gradcheck,
  linspace,
  Rng,
  randn,
  type Tensor,
  tensor,
  valueAndGrad,
  zeros,
} from '../src/index.js';

/**
 * A gradient taken inside a computation that is itself differentiated must
 * stay a graph with respect to every tensor requiring a gradient, including
 * tensors the inner function only closes over.
 */

const f64 = { dtype: 'float64' } as const;

describe('grad inside a differentiated computation', () => {
  it('keeps its dependence on a closed-over tensor (d/dw of d/dx (w x²) = 2x)', () => {
    const x = tensor([3], f64);
    const outer = (w: Tensor) => grad((xi: Tensor) => w.mul(xi.square()).sum())(x).sum();
    // d/dx (w x²) = 2wx; d/dw of that = 2x = 6
    expect(grad(outer)(tensor([0.5], f64)).toArray()).toEqual([6]);
  });

  it('keeps it through backward() with createGraph', () => {
    const w = tensor([0.5], { ...f64, requiresGrad: true });
    const x = tensor([3], { ...f64, requiresGrad: true });
    w.mul(x.square()).sum().backward(undefined, { createGraph: true });
    const dx = x.grad!; // 2wx
    x.grad = null;
    w.grad = null;
    dx.sum().backward();
    expect(w.grad!.toArray()).toEqual([6]); // d(2wx)/dw = 2x
    expect(x.grad!.toArray()).toEqual([1]); // d(2wx)/dx = 2w
  });

  it('gives the physics loss u″ + u = 0 of a closed-over MLP gradients that match central differences', () => {
    const xs = linspace(0, 2, 5, f64).reshape([5, 1]);
    const rng = new Rng(3);
    const params = [
      randn([1, 6], { ...f64, rng }),
      randn([6], { ...f64, rng }),
      randn([6, 1], { ...f64, rng }).mul(0.5),
      zeros([1], f64),
    ];
    const r = gradcheck((...p: Tensor[]) => physicsLoss(p, xs), params);
    expect(r.maxRelError).toBeLessThan(1e-6);
  });

  it('trains the JAX-style physics fit: u″ + u = 0, u(0) = 1, u′(0) = 0 gives u = cos', () => {
    const xs = linspace(0, 1.5, 12, f64).reshape([12, 1]);
    const rng = new Rng(7);
    let params = [
      randn([1, 12], { ...f64, rng }),
      randn([12], { ...f64, rng }),
      randn([12, 1], { ...f64, rng }).mul(0.3),
      zeros([1], f64),
    ];
    const step = valueAndGrad((...p: Tensor[]) => physicsLoss(p, xs));
    // Adam, by hand, so the test depends on nothing but gradients.
    const m = params.map((p) => p.mul(0));
    const v = params.map((p) => p.mul(0));
    let first = 0;
    let loss = 0;
    for (let t = 1; t <= 600; t++) {
      const [value, grads] = step(...params);
      loss = value.item();
      if (t === 1) first = loss;
      params = params.map((p, k) => {
        const g = grads[k]!;
        m[k] = m[k]!.mul(0.9).add(g.mul(0.1));
        v[k] = v[k]!.mul(0.999).add(g.square().mul(0.001));
        const mh = m[k]!.div(1 - 0.9 ** t);
        const vh = v[k]!.div(1 - 0.999 ** t);
        return p.sub(mh.mul(0.02).div(vh.sqrt().add(1e-8)));
      });
    }
    expect(loss).toBeLessThan(first / 100);
    expect(loss).toBeLessThan(1e-3);
    const u = mlp(params, xs).flatten().toArray() as number[];
    const truth = (xs.flatten().toArray() as number[]).map(Math.cos);
    u.forEach((ui, i) => {
      expect(Math.abs(ui - truth[i]!)).toBeLessThan(0.02);
    });
  });
});

function mlp([w1, b1, w2, b2]: readonly Tensor[], x: Tensor): Tensor {
  return x.matmul(w1!).add(b1!).tanh().matmul(w2!).add(b2!);
}

/** As in JAX: the parameters are closed over; the points are plain constants. */
function physicsLoss(params: readonly Tensor[], xs: Tensor): Tensor {
  const u = (x: Tensor) => mlp(params, x);
  const du = grad((x: Tensor) => u(x).sum());
  const d2u = grad((x: Tensor) => du(x).sum());
  const residual = d2u(xs).add(u(xs));
  const zero = xs.narrow(0, 0, 1).mul(0);
  const boundary = u(zero).sub(1).square().sum().add(du(zero).square().sum());
  return residual.square().mean().add(boundary);
}
