import { describe, expect, it } from 'vitest';
import {
  eye,
  grad,
  gradcheck,
  logSoftmax,
  matmul,
  oneHot,
  Rng,
  randn,
  softmax,
  softmaxCrossEntropy,
  type Tensor,
  tensor,
  valueAndGrad,
} from '../src/index.js';
import { expectAllClose, indices, uniform } from './support.js';

const xs = tensor(new Float64Array([-2.5, -1, -0.3, 0, 0.4, 1.2, 3]));
const map = (t: Tensor, fn: (v: number) => number) => Array.from(t.data, fn);
const sig = (v: number) => 1 / (1 + Math.exp(-v));

/** The n-th derivative of an elementwise f, applied to every element at once. */
function nthGrad(f: (x: Tensor) => Tensor, n: number): (x: Tensor) => Tensor {
  let g = f;
  for (let i = 0; i < n; i++) {
    const inner = g;
    g = grad((x: Tensor) => inner(x).sum());
  }
  return g;
}

describe('second and third derivatives match closed forms', () => {
  it('x³: 3x², 6x, 6', () => {
    const f = (x: Tensor) => x.pow(3);
    expectAllClose(
      nthGrad(f, 1)(xs).data,
      map(xs, (v) => 3 * v * v),
    );
    expectAllClose(
      nthGrad(f, 2)(xs).data,
      map(xs, (v) => 6 * v),
    );
    expectAllClose(
      nthGrad(f, 3)(xs).data,
      map(xs, () => 6),
    );
  });

  it('x·x·x through mul: 6x', () => {
    expectAllClose(
      nthGrad((x) => x.mul(x).mul(x), 2)(xs).data,
      map(xs, (v) => 6 * v),
    );
  });

  it('sin: cos, −sin, −cos', () => {
    const f = (x: Tensor) => x.sin();
    expectAllClose(nthGrad(f, 1)(xs).data, map(xs, Math.cos));
    expectAllClose(
      nthGrad(f, 2)(xs).data,
      map(xs, (v) => -Math.sin(v)),
    );
    expectAllClose(
      nthGrad(f, 3)(xs).data,
      map(xs, (v) => -Math.cos(v)),
    );
  });

  it('cos: −sin, −cos', () => {
    const f = (x: Tensor) => x.cos();
    expectAllClose(
      nthGrad(f, 1)(xs).data,
      map(xs, (v) => -Math.sin(v)),
    );
    expectAllClose(
      nthGrad(f, 2)(xs).data,
      map(xs, (v) => -Math.cos(v)),
    );
  });

  it('sigmoid: σ(1−σ), σ(1−σ)(1−2σ), σ(1−σ)(1−6σ+6σ²)', () => {
    const f = (x: Tensor) => x.sigmoid();
    const d1 = (v: number) => sig(v) * (1 - sig(v));
    expectAllClose(nthGrad(f, 1)(xs).data, map(xs, d1));
    expectAllClose(
      nthGrad(f, 2)(xs).data,
      map(xs, (v) => d1(v) * (1 - 2 * sig(v))),
    );
    expectAllClose(
      nthGrad(f, 3)(xs).data,
      map(xs, (v) => d1(v) * (1 - 6 * sig(v) + 6 * sig(v) ** 2)),
    );
  });

  it('tanh: 1−t², −2t(1−t²)', () => {
    const f = (x: Tensor) => x.tanh();
    const t = Math.tanh;
    expectAllClose(
      nthGrad(f, 1)(xs).data,
      map(xs, (v) => 1 - t(v) ** 2),
    );
    expectAllClose(
      nthGrad(f, 2)(xs).data,
      map(xs, (v) => -2 * t(v) * (1 - t(v) ** 2)),
    );
  });

  it('erf: 2/√π·e^(−x²), −2x·2/√π·e^(−x²)', () => {
    const f = (x: Tensor) => x.erf();
    const d1 = (v: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v);
    expectAllClose(nthGrad(f, 1)(xs).data, map(xs, d1));
    expectAllClose(
      nthGrad(f, 2)(xs).data,
      map(xs, (v) => -2 * v * d1(v)),
    );
  });

  it('exp: exp at every order', () => {
    const f = (x: Tensor) => x.exp();
    for (let n = 1; n <= 3; n++) expectAllClose(nthGrad(f, n)(xs).data, map(xs, Math.exp));
  });

  it('log: 1/x, −1/x²', () => {
    const p = tensor(new Float64Array([0.2, 1, 3.5]));
    expectAllClose(
      nthGrad((x) => x.log(), 2)(p).data,
      map(p, (v) => -1 / (v * v)),
    );
  });

  it('sqrt: −1/(4 x^1.5)', () => {
    const p = tensor(new Float64Array([0.2, 1, 3.5]));
    expectAllClose(
      nthGrad((x) => x.sqrt(), 2)(p).data,
      map(p, (v) => -0.25 * v ** -1.5),
    );
  });

  it('1/x through div: 2/x³', () => {
    const p = tensor(new Float64Array([0.2, -1, 3.5]));
    const f = (x: Tensor) => tensor(new Float64Array([1])).div(x);
    expectAllClose(
      nthGrad(f, 2)(p).data,
      map(p, (v) => 2 / v ** 3),
    );
  });

  it('powers stay finite at 0 to every order: x⁰, x¹, x³ and polynomial features', () => {
    const p = tensor(new Float64Array([0, 0.5, -2]));
    expectAllClose(nthGrad((x) => x.pow(0), 1)(p).data, [0, 0, 0]);
    expectAllClose(nthGrad((x) => x.pow(1), 1)(p).data, [1, 1, 1]);
    expectAllClose(nthGrad((x) => x.pow(1), 2)(p).data, [0, 0, 0]);
    expectAllClose(nthGrad((x) => x.pow(3), 3)(p).data, [6, 6, 6]);
    expectAllClose(nthGrad((x) => x.pow(3), 4)(p).data, [0, 0, 0]);
    // d/dx Σₖ cₖ xᵏ for k = 0..3, written with a tensor of exponents.
    const c = tensor(new Float64Array([5, 2, -1, 0.5]));
    const poly = (x: Tensor) =>
      x
        .expandDims(-1)
        .pow(tensor(new Float64Array([0, 1, 2, 3])))
        .mul(c)
        .sum(-1);
    const d1 = (v: number) => 2 - 2 * v + 1.5 * v * v;
    expectAllClose(nthGrad(poly, 1)(p).data, map(p, d1));
    expectAllClose(
      nthGrad(poly, 2)(p).data,
      map(p, (v) => -2 + 3 * v),
    );
  });

  it('the exponent’s gradient of 0ᵇ is 0 for b > 0, to second order', () => {
    const base = tensor(new Float64Array([0, 0, 2]));
    const dPow = grad((b: Tensor) => base.pow(b).sum());
    const b = tensor(new Float64Array([0.5, 3, 1.5]));
    expectAllClose(dPow(b).data, [0, 0, 2 ** 1.5 * Math.log(2)]);
    const d2 = grad((e: Tensor) => dPow(e).sum())(b);
    expectAllClose(d2.data, [0, 0, 2 ** 1.5 * Math.log(2) ** 2]);
  });

  it('relu and abs have zero second derivative away from 0', () => {
    const p = tensor(new Float64Array([-2, -0.5, 0.5, 2]));
    expect(Array.from(nthGrad((x) => x.relu(), 2)(p).data)).toEqual([0, 0, 0, 0]);
    expect(Array.from(nthGrad((x) => x.abs(), 2)(p).data)).toEqual([0, 0, 0, 0]);
  });
});

describe('Hessians', () => {
  it('the Hessian of xᵀAx is A + Aᵀ', () => {
    const n = 4;
    const A = uniform([n, n], 1);
    const x = uniform([n], 2);
    const f = (v: Tensor) => matmul(v, matmul(A, v));
    const df = grad(f);
    // Row i of the Hessian is the gradient of the i-th component of the gradient.
    const rows = Array.from({ length: n }, (_, i) => {
      const e = eye(n, { dtype: 'float64' })
        .slice([i], [i + 1])
        .reshape([n]);
      return Array.from(grad((v: Tensor) => df(v).mul(e).sum())(x).data);
    });
    const expected: number[] = [];
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) expected.push(A.data[i * n + j]! + A.data[j * n + i]!);
    expectAllClose(rows.flat(), expected);
  });

  it('the Hessian of the log-sum-exp is diag(p) − ppᵀ', () => {
    const x = uniform([5], 3, -2, 2);
    const p = Array.from(softmax(x).data);
    const df = grad((v: Tensor) => v.logSumExp());
    const expected: number[] = [];
    const actual: number[] = [];
    for (let i = 0; i < 5; i++) {
      const e = new Float64Array(5);
      e[i] = 1;
      actual.push(...grad((v: Tensor) => df(v).mul(tensor(e)).sum())(x).data);
      for (let j = 0; j < 5; j++) expected.push((i === j ? p[i]! : 0) - p[i]! * p[j]!);
    }
    expectAllClose(actual, expected, { rtol: 1e-9, atol: 1e-12 });
  });
});

/**
 * Hessian-vector products checked against central differences of the
 * analytic gradient: gradcheck of v ↦ ⟨∇f(x), v⟩. Any VJP that leans on a
 * value outside the graph (a saved, detached output) fails this.
 */
describe('double differentiation through every VJP (gradcheck of the gradient)', () => {
  const w = uniform([3, 4], 50);
  const cases: [string, (x: Tensor) => Tensor, Tensor][] = [
    ['sigmoid', (x) => x.sigmoid().mul(w), uniform([3, 4], 1, -3, 3)],
    ['tanh', (x) => x.tanh().mul(w), uniform([3, 4], 2, -3, 3)],
    ['erf', (x) => x.erf().mul(w), uniform([3, 4], 16, -3, 3)],
    ['exp', (x) => x.exp().mul(w), uniform([3, 4], 3)],
    ['log', (x) => x.log().mul(w), uniform([3, 4], 4, 0.5, 2)],
    ['sqrt', (x) => x.sqrt().mul(w), uniform([3, 4], 5, 0.5, 2)],
    ['sin, cos', (x) => x.sin().mul(x.cos()).mul(w), uniform([3, 4], 6)],
    ['div', (x) => w.div(x.add(3)).mul(x), uniform([3, 4], 7)],
    ['pow (base and exponent)', (x) => x.add(2).pow(x).mul(w), uniform([3, 4], 8)],
    ['softmax', (x) => softmax(x).mul(w), uniform([3, 4], 9, -2, 2)],
    ['softmax axis 0', (x) => softmax(x, 0).mul(w), uniform([3, 4], 10, -2, 2)],
    ['logSoftmax', (x) => logSoftmax(x).mul(w), uniform([3, 4], 11, -2, 2)],
    [
      'softmaxCrossEntropy',
      (x) => softmaxCrossEntropy(x, indices([3], 4, 6)).mul(w.sum(1)),
      uniform([3, 4], 18, -2, 2),
    ],
    ['logSumExp', (x) => x.logSumExp(1).square(), uniform([3, 4], 12, -2, 2)],
    ['max and min', (x) => x.max(1).mul(x.min(0).sum()), uniform([3, 4], 13)],
    ['mean with broadcast', (x) => x.sub(x.mean(0)).square().mean(), uniform([3, 4], 14)],
    ['matmul', (x) => matmul(x, x, { transB: true }).square(), uniform([3, 4], 15)],
    ['matmul Aᵀ·A', (x) => matmul(x, x, { transA: true }).sin(), uniform([3, 4], 16)],
    [
      'movement: permute, slice, concat, indexSelect',
      (x) => {
        const y = x.permute([1, 0]).slice([1, 0], [3, 3]);
        const z = x.indexSelect(0, indices([4], 3, 3));
        return y
          .concat([z.T.slice([0, 0], [2, 3])], 0)
          .square()
          .mul(y.sum());
      },
      uniform([3, 4], 17),
    ],
    [
      'where and maximum',
      (x) => x.maximum(w).mul(x).add(x.leakyRelu(0.2).square()),
      uniform([3, 4], 18),
    ],
  ];

  it.each(cases)('%s', (_name, f, x) => {
    const v = uniform(x.shape, 99);
    const hvp = (y: Tensor) =>
      grad((z: Tensor) => f(z).sum())(y)
        .mul(v)
        .sum();
    const r = gradcheck(hvp, [x]);
    expect(r.maxRelError, JSON.stringify(r)).toBeLessThan(1e-6);
  });
});

describe('the 784-16-16-10 network', () => {
  const rng = new Rng(7);
  const init = (shape: number[], scale: number) =>
    randn(shape, { rng, dtype: 'float64' }).mul(scale);
  const W1 = init([784, 16], 0.05);
  const b1 = init([16], 0.1);
  const W2 = init([16, 16], 0.3);
  const b2 = init([16], 0.1);
  const W3 = init([16, 10], 0.3);
  const b3 = init([10], 0.1);
  const images = uniform([4, 784], 8, 0, 1);
  const targets = oneHot(indices([4], 10, 9), 10, 'float64');

  const loss = (w2: Tensor) => {
    const h1 = matmul(images, W1).add(b1).sigmoid();
    const h2 = matmul(h1, w2).add(b2).sigmoid();
    const logits = matmul(h2, W3).add(b3);
    return logSoftmax(logits).mul(targets).sum(1).mean().neg();
  };

  it('grad of grad w.r.t. a weight runs and agrees with a directional derivative', () => {
    // φ(W) = ½‖∇L(W)‖²; its gradient is the Hessian-vector product H·∇L.
    const phi = (w: Tensor) => grad(loss)(w).square().sum().mul(0.5);
    const [value, [hg]] = valueAndGrad(phi)(W2);
    expect(hg!.shape).toEqual([16, 16]);
    expect(Number.isFinite(value.item())).toBe(true);
    expect(Array.from(hg!.data).every(Number.isFinite)).toBe(true);
    expect(Array.from(hg!.data).some((v) => v !== 0)).toBe(true);

    // Directional derivative along d by central differences of φ.
    const d = uniform([16, 16], 10);
    const eps = 1e-5;
    const at = (s: number) => phi(W2.add(d.mul(s))).item();
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    const analytic = hg!.mul(d).sum().item();
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
  });

  it('grad of grad w.r.t. the first layer weight runs', () => {
    const lossOfW1 = (w1: Tensor) => {
      const h1 = matmul(images, w1).add(b1).sigmoid();
      const h2 = matmul(h1, W2).add(b2).sigmoid();
      return matmul(h2, W3).add(b3).sub(targets).square().mean();
    };
    const second = grad((w: Tensor) => grad(lossOfW1)(w).square().sum())(W1);
    expect(second.shape).toEqual([784, 16]);
    expect(Array.from(second.data).every(Number.isFinite)).toBe(true);
  });
});
