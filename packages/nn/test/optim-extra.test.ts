import { compile, noGrad, randn, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  clipGradNorm,
  clipGradValue,
  LBFGS,
  mse,
  OptimizerError,
  RMSprop,
  type RMSpropOptions,
  StateDictError,
} from '../src/index.js';

/** L(w) = (w₀ − 1)² + (w₁ + 2)²/2 from w = (0, 0); ∇L = (2(w₀ − 1), w₁ + 2). */
function problem() {
  const w = tensor([0, 0], { dtype: 'float64', requiresGrad: true });
  const loss = () =>
    w
      .sub(tensor([1, -2], { dtype: 'float64' }))
      .square()
      .mul(tensor([1, 0.5], { dtype: 'float64' }))
      .sum();
  return { w, loss };
}

/**
 * PyTorch's RMSprop update written out in plain float64 arithmetic: the
 * oracle. The learning rate is the float32 value optimisers store.
 */
function rmspropReference(steps: number, options: Required<RMSpropOptions>): number[][] {
  const o = { ...options, lr: Math.fround(options.lr) };
  const w = [0, 0];
  const v = [0, 0];
  const ga = [0, 0];
  const buf = [0, 0];
  const trace: number[][] = [];
  for (let t = 0; t < steps; t++) {
    const grad = [2 * (w[0]! - 1), w[1]! + 2];
    for (let i = 0; i < 2; i++) {
      const g = grad[i]! + o.weightDecay * w[i]!;
      v[i] = o.alpha * v[i]! + (1 - o.alpha) * g * g;
      let avg: number;
      if (o.centered) {
        ga[i] = o.alpha * ga[i]! + (1 - o.alpha) * g;
        avg = Math.sqrt(v[i]! - ga[i]! * ga[i]!) + o.eps;
      } else avg = Math.sqrt(v[i]!) + o.eps;
      if (o.momentum > 0) {
        buf[i] = o.momentum * buf[i]! + g / avg;
        w[i] = w[i]! - o.lr * buf[i]!;
      } else w[i] = w[i]! - (o.lr * g) / avg;
    }
    trace.push(w.slice());
  }
  return trace;
}

describe('RMSprop', () => {
  const defaults = {
    lr: 0.01,
    alpha: 0.99,
    eps: 1e-8,
    weightDecay: 0,
    momentum: 0,
    centered: false,
  };
  const cases: [string, Partial<RMSpropOptions>][] = [
    ['defaults', {}],
    ['momentum and weight decay', { lr: 0.05, momentum: 0.9, weightDecay: 0.1 }],
    ['centered with momentum', { lr: 0.02, alpha: 0.9, centered: true, momentum: 0.5 }],
  ];
  for (const [name, options] of cases) {
    it(`follows PyTorch's update (${name})`, () => {
      const { w, loss } = problem();
      const opt = new RMSprop([w], options);
      const trace: number[][] = [];
      for (let i = 0; i < 5; i++) {
        opt.zeroGrad();
        loss().backward();
        opt.step();
        trace.push(Array.from(w.data));
      }
      const expected = rmspropReference(5, { ...defaults, ...options });
      trace.forEach((row, t) => {
        row.forEach((x, i) => {
          expect(x).toBeCloseTo(expected[t]![i]!, 12);
        });
      });
    });
  }

  it('resumes from its state dict bit for bit', () => {
    const go = (steps: number, opt: RMSprop, loss: () => Tensor) => {
      for (let i = 0; i < steps; i++) {
        opt.zeroGrad();
        loss().backward();
        opt.step();
      }
    };
    const a = problem();
    const optA = new RMSprop([a.w], { momentum: 0.9, centered: true });
    go(6, optA, a.loss);
    const b = problem();
    const optB = new RMSprop([b.w], { momentum: 0.9, centered: true });
    go(3, optB, b.loss);
    const state = optB.stateDict();
    expect(Object.keys(state.tensors).sort()).toEqual([
      'params.0.gradAvg',
      'params.0.momentum',
      'params.0.squareAvg',
      'step',
    ]);
    const c = problem();
    noGrad(() => c.w.data.set(b.w.data));
    const optC = new RMSprop([c.w], { momentum: 0.9, centered: true });
    optC.loadStateDict(state);
    go(3, optC, c.loss);
    expect(Array.from(c.w.data)).toEqual(Array.from(a.w.data));
    expect(() => new RMSprop([c.w]).loadStateDict(state)).toThrow(StateDictError);
  });

  it('refuses bad options with the name and the value', () => {
    const { w } = problem();
    expect(() => new RMSprop([w], { alpha: 1.5 })).toThrow(
      'RMSprop: alpha must be in [0, 1], got 1.5',
    );
    expect(() => new RMSprop([w], { momentum: -1 })).toThrow(OptimizerError);
  });
});

describe('LBFGS', () => {
  it('finds the minimum of the Rosenbrock function (1, 1) with the strong-Wolfe line search', () => {
    const xy = tensor([-1.5, 2], { dtype: 'float64', requiresGrad: true });
    const rosenbrock = () => {
      const x = xy.slice([0], [1]);
      const y = xy.slice([1], [2]);
      return x.neg().add(1).square().add(y.sub(x.square()).square().mul(100)).sum();
    };
    const opt = new LBFGS([xy], {
      lineSearch: 'strongWolfe',
      maxIter: 100,
      toleranceGrad: 1e-12,
      toleranceChange: 1e-16,
    });
    let first = 0;
    for (let i = 0; i < 5; i++) {
      const before = opt.step(() => {
        const loss = rosenbrock();
        loss.backward();
        return loss;
      });
      if (i === 0) first = before;
    }
    expect(first).toBeCloseTo(2.5 ** 2 + 100 * (2 - 2.25) ** 2, 10);
    expect(xy.data[0]).toBeCloseTo(1, 6);
    expect(xy.data[1]).toBeCloseTo(1, 6);
    expect(rosenbrock().item()).toBeLessThan(1e-12);
  });

  it('solves a least-squares fit to the normal equations’ solution', () => {
    // y = X·w* + noise; the minimiser of ‖Xw + b − y‖² is known in closed form.
    const n = 40;
    const x = randn([n, 3], { rng: 1, dtype: 'float64' });
    const noise = randn([n, 1], { rng: 2, dtype: 'float64' }).mul(0.1);
    const y = x
      .matmul(tensor([[2], [-1], [0.5]], { dtype: 'float64' }))
      .add(0.3)
      .add(noise);
    const w = tensor([[0], [0], [0]], { dtype: 'float64', requiresGrad: true });
    const b = tensor([0], { dtype: 'float64', requiresGrad: true });
    const opt = new LBFGS([w, b], { lineSearch: 'strongWolfe' });
    for (let i = 0; i < 3; i++) {
      opt.step(() => {
        const loss = mse(x.matmul(w).add(b), y);
        loss.backward();
        return loss;
      });
    }
    // Normal equations on [X, 1]: solve (AᵀA) θ = Aᵀy by Gaussian elimination.
    const rows = Array.from({ length: n }, (_, i) => [
      ...Array.from(x.data.subarray(i * 3, i * 3 + 3)),
      1,
    ]);
    const ata = [0, 1, 2, 3].map((r) =>
      [0, 1, 2, 3].map((c) => rows.reduce((s, a) => s + a[r]! * a[c]!, 0)),
    );
    const aty = [0, 1, 2, 3].map((r) => rows.reduce((s, a, i) => s + a[r]! * y.data[i]!, 0));
    for (let k = 0; k < 4; k++) {
      for (let r = k + 1; r < 4; r++) {
        const f = ata[r]![k]! / ata[k]![k]!;
        for (let c = k; c < 4; c++) ata[r]![c]! -= f * ata[k]![c]!;
        aty[r]! -= f * aty[k]!;
      }
    }
    const theta = [0, 0, 0, 0];
    for (let k = 3; k >= 0; k--) {
      let s = aty[k]!;
      for (let c = k + 1; c < 4; c++) s -= ata[k]![c]! * theta[c]!;
      theta[k] = s / ata[k]![k]!;
    }
    const got = [...w.data, b.data[0]!];
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(theta[i]!, 7);
    });
  });

  it('without a line search takes steps of lr, and resumes from its state dict exactly', () => {
    const make = () => {
      const w = tensor([3, -2], { dtype: 'float64', requiresGrad: true });
      const closure = () => {
        const loss = w
          .square()
          .mul(tensor([1, 10], { dtype: 'float64' }))
          .sum();
        loss.backward();
        return loss;
      };
      return { w, closure };
    };
    const a = make();
    const optA = new LBFGS([a.w], { maxIter: 3, lr: 0.1 });
    for (let i = 0; i < 4; i++) optA.step(a.closure);
    const b = make();
    const optB = new LBFGS([b.w], { maxIter: 3, lr: 0.1 });
    for (let i = 0; i < 2; i++) optB.step(b.closure);
    const c = make();
    noGrad(() => c.w.data.set(b.w.data));
    const optC = new LBFGS([c.w], { maxIter: 3, lr: 0.1 });
    optC.loadStateDict(optB.stateDict());
    for (let i = 0; i < 2; i++) optC.step(c.closure);
    expect(Array.from(c.w.data)).toEqual(Array.from(a.w.data));
    expect(optC.nIter).toBe(optA.nIter);
    expect(Math.abs(a.w.data[0]!)).toBeLessThan(3);
  });

  it('refuses a step without a closure and bad options', () => {
    const w = tensor([1], { requiresGrad: true });
    expect(() => new LBFGS([w], { historySize: 0 })).toThrow(
      'LBFGS: historySize must be a positive integer, got 0',
    );
    expect(() => (new LBFGS([w]).step as unknown as () => number)()).toThrow(/needs a closure/);
  });
});

describe('clipGradNorm and clipGradValue', () => {
  const withGrads = () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3], { requiresGrad: true });
    a.grad = tensor([3, 4]);
    b.grad = tensor([12]);
    return [a, b];
  };

  it('rescales the gradients to a total 2-norm of maxNorm and returns the norm before', () => {
    const [a, b] = withGrads();
    const total = clipGradNorm([a!, b!], 6.5);
    expect(total.item()).toBe(13); // √(9 + 16 + 144)
    const coef = 6.5 / (13 + 1e-6);
    expect(Array.from(a!.grad!.data)).toEqual(
      [3, 4].map((g) => Math.fround(g * Math.fround(coef))),
    );
    expect(b!.grad!.data[0]).toBeCloseTo(6, 5);
    const [c, d] = withGrads();
    expect(clipGradNorm([c!, d!], 100).item()).toBe(13);
    expect(Array.from(c!.grad!.data)).toEqual([3, 4]);
  });

  it('supports the infinity norm and other orders', () => {
    const [a, b] = withGrads();
    expect(clipGradNorm([a!, b!], 1, { normType: Number.POSITIVE_INFINITY }).item()).toBe(12);
    expect(b!.grad!.data[0]).toBeCloseTo(1, 5);
    const [c, d] = withGrads();
    expect(clipGradNorm([c!, d!], 100, { normType: 1 }).item()).toBe(19);
  });

  it('runs inside a compiled step', () => {
    const w = tensor([3, 4], { requiresGrad: true });
    const step = compile((x: Tensor) => {
      w.grad = null;
      w.mul(x).sum().backward();
      const norm = clipGradNorm([w], 1);
      return { norm, grad: w.grad! };
    });
    const out = step(tensor([30, 40]));
    expect(out.norm.item()).toBe(50);
    expect(out.grad.data[0]).toBeCloseTo(0.6, 5);
    const again = step(tensor([0.3, 0.4]));
    expect(again.norm.item()).toBeCloseTo(0.5, 6);
    expect(again.grad.data[1]).toBeCloseTo(0.4, 6);
  });

  it('with errorIfNonfinite, refuses a NaN norm', () => {
    const w = tensor([1], { requiresGrad: true });
    w.grad = tensor([Number.NaN]);
    expect(() => clipGradNorm(w, 1, { errorIfNonfinite: true })).toThrow(
      /total norm of order 2 of the gradients is NaN/,
    );
  });

  it('clamps every entry to [−c, c]', () => {
    const [a, b] = withGrads();
    clipGradValue([a!, b!], 3.5);
    expect(Array.from(a!.grad!.data)).toEqual([3, 3.5]);
    expect(Array.from(b!.grad!.data)).toEqual([3.5]);
    expect(() => clipGradValue([a!], -1)).toThrow(OptimizerError);
  });
});
