/** Transforms composed on functions built from many ops: Hessians three ways, conv and pooling under hvp, compile over jvp and hessian, grad of a Hessian, vjp of vmap. */
import { expect, it } from 'vitest';
import {
  compile,
  conv2d,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacobian,
  jacrev,
  jvp,
  maxPool2d,
  softmax,
  stack,
  type Tensor,
  tensor,
  vjp,
  vmap,
} from '../src/index.js';
import { uniform as u } from './support.js';

const flat = (t: Tensor) => Array.from(t.data);
const close = (a: Tensor, b: Tensor, tol = 1e-10) => {
  expect(a.shape).toEqual(b.shape);
  const x = flat(a);
  const y = flat(b);
  x.forEach((v, i) => {
    expect(Math.abs(v - y[i]!)).toBeLessThan(tol * Math.max(1, Math.abs(v)));
  });
};
it('hessian vs jacrev(jacrev) on a softmax/logSumExp/matmul function of 2 args', () => {
  const W = u([3, 4], 1);
  const f = (x: Tensor, y: Tensor) =>
    softmax(W.matmul(x).add(y)).mul(x.sum()).logSumExp().add(x.square().mean());
  const x = u([4], 2),
    y = u([3], 3);
  const H = hessian(f)(x, y) as Tensor[][];
  const J2 = jacrev((a: Tensor) => jacrev((b: Tensor) => f(b, y))(a) as Tensor)(x) as Tensor;
  close(H[0]![0]!, J2);
  const J3 = jacfwd((a: Tensor) => (grad(f)(x, a) as Tensor[])[1]!)(y) as Tensor;
  close(H[1]![1]!, J3);
});
it('0-d output, float32 inputs, conv+maxPool hessian-vector', () => {
  const f = (x: Tensor) => x.sin().sum();
  const J = jacobian(f)(tensor([1, 2, 3])) as Tensor;
  expect(J.shape).toEqual([3]);
  const [y, t] = jvp(f, [tensor([1, 2])], [tensor([1, 1], { dtype: 'float64' })]);
  expect(y.dtype).toBe('float32');
  expect(t.dtype).toBe('float32');
  const w = u([2, 1, 3, 3], 5);
  const g = (x: Tensor) =>
    maxPool2d(conv2d(x, w, null, { padding: 1 }).tanh(), 2)
      .square()
      .sum();
  const x = u([1, 1, 4, 4], 6);
  const v = u([1, 1, 4, 4], 7);
  const [, [hv]] = hvp(g, [x], [v]);
  const H = hessian(g)(x) as Tensor;
  close(
    hv!,
    H.reshape([16, 16])
      .matmul(v.reshape([16]))
      .reshape([1, 1, 4, 4]),
    1e-9,
  );
});
it('compile of jvp, of hessian, and grad of hessian', () => {
  const f = (x: Tensor) => x.pow(3).sum();
  const cj = compile((x: Tensor, v: Tensor) => jvp(f, [x], [v])[1]);
  const x = u([3], 8),
    v = u([3], 9);
  close(cj(x, v) as Tensor, jvp(f, [x], [v])[1]);
  const x2 = u([3], 10);
  close(cj(x2, v) as Tensor, jvp(f, [x2], [v])[1]);
  const ch = compile((a: Tensor) => hessian(f)(a) as Tensor);
  close(ch(x2) as Tensor, hessian(f)(x2) as Tensor);
  // d/dx trace(H) = d/dx Σ 6x = 6
  close(
    grad((a: Tensor) => (hessian(f)(a) as Tensor).sum())(x),
    tensor([6, 6, 6], { dtype: 'float64' }),
  );
  const [, pb] = vjp((a: Tensor) => vmap((r: Tensor) => r.exp().sum())(a) as Tensor, u([2, 3], 11));
  close(
    pb(tensor([1, 2], { dtype: 'float64' }))[0]!,
    u([2, 3], 11)
      .exp()
      .mul(tensor([[1], [2]], { dtype: 'float64' })),
  );
});

it('grad of vmap of grad: a loss on per-example gradients, differentiated again', () => {
  const W = u([3, 4], 12);
  const X = u([5, 4], 13);
  const loss = (w: Tensor, x: Tensor) => w.matmul(x).tanh().sum();
  const perExample = (w: Tensor) => (vmap(grad(loss), { inAxes: [null, 0] })(w, X) as Tensor[])[0]!;
  const looped = (w: Tensor) =>
    stack(
      [0, 1, 2, 3, 4].map((i) => (grad(loss)(w, X.narrow(0, i, 1).reshape([4])) as Tensor[])[0]!),
    );
  close(
    grad((w: Tensor) => perExample(w).square().sum())(W),
    grad((w: Tensor) => looped(w).square().sum())(W),
    1e-12,
  );
});
