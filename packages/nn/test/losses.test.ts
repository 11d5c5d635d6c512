import { gradcheck, oneHot, rand, randn, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  LossError,
  mse,
  nll,
  quadraticCost,
} from '../src/index.js';

const labels = (values: number[]) => tensor(values, { dtype: 'int32' });
const f64 = (data: number[][]) => tensor(data, { dtype: 'float64' });

describe('closed forms on hand-computed cases', () => {
  const pred = f64([
    [0.2, 0.8, 0.1],
    [0.5, 0.5, 1.0],
  ]);
  const target = f64([
    [0, 1, 0],
    [1, 0, 0],
  ]);
  // squared errors: 0.04 0.04 0.01 | 0.25 0.25 1.00; total 1.59

  it('mse: mean or sum of squared errors', () => {
    expect(mse(pred, target).item()).toBeCloseTo(1.59 / 6, 12);
    expect(mse(pred, target, { reduction: 'sum' }).item()).toBeCloseTo(1.59, 12);
    expect(mse(pred, target, { reduction: 'none' }).shape).toEqual([2, 3]);
  });

  it('quadraticCost: ½‖y − a‖² per sample, averaged over the batch', () => {
    // samples: ½·0.09 = 0.045 and ½·1.5 = 0.75
    expect(quadraticCost(pred, target).item()).toBeCloseTo((0.045 + 0.75) / 2, 12);
    expect(quadraticCost(pred, target, { reduction: 'sum' }).item()).toBeCloseTo(0.795, 12);
    expect(Array.from(quadraticCost(pred, target, { reduction: 'none' }).data)).toEqual([
      expect.closeTo(0.045, 12),
      expect.closeTo(0.75, 12),
    ]);
    // A 1-D input is a single sample.
    const one = tensor([0.2, 0.8, 0.1], { dtype: 'float64' });
    expect(quadraticCost(one, tensor([0, 1, 0], { dtype: 'float64' })).item()).toBeCloseTo(
      0.045,
      12,
    );
  });

  it('crossEntropy: −log softmax(logits)[label], from labels or one-hot rows', () => {
    const logits = f64([
      [1, 2, 3],
      [0, 0, 0],
    ]);
    const lse = Math.log(Math.E + Math.E ** 2 + Math.E ** 3);
    const first = lse - 3; // label 2
    const second = Math.log(3); // uniform over 3 classes
    const y = labels([2, 0]);
    expect(crossEntropy(logits, y).item()).toBeCloseTo((first + second) / 2, 12);
    expect(crossEntropy(logits, y, { reduction: 'sum' }).item()).toBeCloseTo(first + second, 12);
    expect(crossEntropy(logits, oneHot(y, 3, 'float64')).item()).toBeCloseTo(
      (first + second) / 2,
      12,
    );
    // Soft targets: ½ on classes 1 and 2 of the first row.
    const soft = f64([
      [0, 0.5, 0.5],
      [1, 0, 0],
    ]);
    const softFirst = 0.5 * (lse - 2) + 0.5 * (lse - 3);
    expect(crossEntropy(logits, soft).item()).toBeCloseTo((softFirst + second) / 2, 12);
  });

  it('nll: the negated log-probability of each label', () => {
    const logProbs = f64([
      [-1, -2],
      [-0.5, -3],
    ]);
    expect(nll(logProbs, labels([0, 1])).item()).toBe(2);
    // An impossible unpicked class (−∞) does not poison the loss.
    expect(nll(f64([[Number.NEGATIVE_INFINITY, -0.25]]), labels([1])).item()).toBe(0.25);
  });

  it('binaryCrossEntropy and its logits form', () => {
    const p = f64([[0.9, 0.2]]);
    const t = f64([[1, 0]]);
    expect(binaryCrossEntropy(p, t).item()).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    const x = f64([[2, -1]]);
    expect(binaryCrossEntropyWithLogits(x, t).item()).toBeCloseTo(
      (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(-1))) / 2,
      12,
    );
    // Soft target ¼ at logit 0: −(¼ log ½ + ¾ log ½) = log 2.
    expect(binaryCrossEntropyWithLogits(f64([[0]]), f64([[0.25]])).item()).toBeCloseTo(
      Math.LN2,
      12,
    );
  });
});

describe('gradients', () => {
  const x = randn([4, 5], { rng: 1, dtype: 'float64' });
  const t = randn([4, 5], { rng: 2, dtype: 'float64' });
  const probs = rand([4, 5], { rng: 3, dtype: 'float64' }).mul(0.9).add(0.05);
  const y = labels([0, 4, 2, 2]);
  const soft = rand([4, 5], { rng: 4, dtype: 'float64' }).softmax();
  const check = (f: (a: Tensor) => Tensor, input: Tensor) => {
    const r = gradcheck(f, [input]);
    expect(r.maxRelError).toBeLessThan(1e-6);
  };

  it('every loss passes gradcheck', () => {
    check((a) => mse(a, t), x);
    check((a) => mse(a, t, { reduction: 'sum' }), x);
    check((a) => quadraticCost(a, t), x);
    check((a) => crossEntropy(a, y), x);
    check((a) => crossEntropy(a, soft), x);
    check((a) => nll(a.logSoftmax(), y), x);
    check((a) => binaryCrossEntropy(a, probs.gt(0.5).cast('float64')), probs);
    check((a) => binaryCrossEntropyWithLogits(a, soft), x);
  });

  it('crossEntropy of labels has gradient (softmax − onehot)/N', () => {
    const logits = x.requireGrad();
    crossEntropy(logits, y).backward();
    const expected = x
      .softmax()
      .sub(oneHot(y, 5, 'float64'))
      .div(4);
    for (let i = 0; i < 20; i++) expect(logits.grad!.data[i]).toBeCloseTo(expected.data[i]!, 12);
  });

  it('crossEntropy of labels is one fused op with the bits of nll(logSoftmax), every reduction', () => {
    const logits = x.mul(40).cast('float32');
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const fused = crossEntropy(logits, y, { reduction });
      const composed = nll(logits.logSoftmax(-1), y, { reduction });
      expect(Array.from(fused.data)).toEqual(Array.from(composed.data));
    }
    const ops = crossEntropy(logits.requireGrad(), y, { reduction: 'none' }).graph();
    expect(ops).toContain('softmaxCrossEntropy');
    expect(ops).not.toContain('logSoftmax');
  });

  it('binaryCrossEntropyWithLogits has the gradient σ(x) − t even at x = 0', () => {
    const logits = tensor([0, 0, 3, -3], { dtype: 'float64', requiresGrad: true });
    const targets = tensor([0, 1, 1, 0], { dtype: 'float64' });
    binaryCrossEntropyWithLogits(logits, targets, { reduction: 'sum' }).backward();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    expect(Array.from(logits.grad!.data)).toEqual([
      expect.closeTo(0.5, 12),
      expect.closeTo(-0.5, 12),
      expect.closeTo(sig(3) - 1, 12),
      expect.closeTo(sig(-3), 12),
    ]);
  });
});

describe('stability', () => {
  it('crossEntropy of n equal logits is log n at any magnitude (1e16, 1e30)', () => {
    for (const v of [1e16, 1e30]) {
      const logits = tensor([new Array(10).fill(v)], { dtype: 'float64' });
      expect(crossEntropy(logits, labels([3])).item()).toBeCloseTo(Math.log(10), 12);
    }
  });

  it('binaryCrossEntropyWithLogits of ±∞ logits: 0 where the target agrees, ∞ where it does not', () => {
    const inf = Number.POSITIVE_INFINITY;
    const loss = binaryCrossEntropyWithLogits(
      tensor([inf, -inf, inf, -inf], { dtype: 'float64' }),
      tensor([1, 0, 0, 1], { dtype: 'float64' }),
      { reduction: 'none' },
    );
    expect(Array.from(loss.data)).toEqual([0, 0, inf, inf]);
  });

  it('binaryCrossEntropy refuses probabilities or targets outside [0, 1]', () => {
    const t = tensor([1, 0], { dtype: 'float64' });
    expect(() => binaryCrossEntropy(tensor([0.5, 1.5], { dtype: 'float64' }), t)).toThrow(
      /binaryCrossEntropy: probabilities must lie in \[0, 1\], got 1.5 at index 1 of \[2\].*WithLogits/,
    );
    expect(() => binaryCrossEntropy(tensor([0.5, Number.NaN], { dtype: 'float64' }), t)).toThrow(
      LossError,
    );
    expect(() =>
      binaryCrossEntropy(
        tensor([0.5, 0.5], { dtype: 'float64' }),
        tensor([2, 0], { dtype: 'float64' }),
      ),
    ).toThrow(/targets must lie in \[0, 1\], got 2 at index 0/);
  });

  it('crossEntropy is finite, and right, for logits of ±1e4', () => {
    const logits = tensor(
      [
        [1e4, -1e4, 0],
        [-1e4, 1e4, 1e4],
      ],
      { requiresGrad: true },
    );
    const loss = crossEntropy(logits, labels([1, 0]));
    // row 0: lse = 1e4, loss = 2e4; row 1: lse = 1e4 + log 2, loss = 2e4 + log 2
    expect(loss.item()).toBeCloseTo(2e4 + Math.LN2 / 2, 1);
    loss.backward();
    expect(Array.from(logits.grad!.data).every(Number.isFinite)).toBe(true);
    expect(Array.from(logits.grad!.data)).toEqual([
      expect.closeTo(0.5, 6),
      expect.closeTo(-0.5, 6),
      expect.closeTo(0, 6),
      expect.closeTo(-0.5, 6),
      expect.closeTo(0.25, 6),
      expect.closeTo(0.25, 6),
    ]);
    const right = crossEntropy(tensor([[1e4, -1e4]]), labels([0]));
    expect(right.item()).toBe(0);
  });

  it('binary losses stay finite at saturation', () => {
    const huge = tensor([[1e4, -1e4]], { requiresGrad: true });
    const wrong = tensor([[0, 1]]);
    const loss = binaryCrossEntropyWithLogits(huge, wrong, { reduction: 'sum' });
    expect(loss.item()).toBeCloseTo(2e4, 1);
    loss.backward();
    expect(Array.from(huge.grad!.data)).toEqual([1, -1]);
    const p = tensor([[0, 1]], { requiresGrad: true });
    const bce = binaryCrossEntropy(p, tensor([[1, 0]]), { reduction: 'sum' });
    expect(Number.isFinite(bce.item())).toBe(true);
    expect(bce.item()).toBeGreaterThan(2 * 15);
    bce.backward();
    expect(Array.from(p.grad!.data).every(Number.isFinite)).toBe(true);
  });
});

describe('bad input', () => {
  it('names the loss and the shapes', () => {
    const a = randn([4, 10], { rng: 1 });
    expect(() => mse(a, randn([4], { rng: 1 }))).toThrow(
      'mse: prediction [4, 10] and target [4] differ in shape',
    );
    expect(() => crossEntropy(a, labels([1, 2, 3]))).toThrow(
      'crossEntropy: labels [3] do not match logits [4, 10] (expected labels of shape [4])',
    );
    expect(() => crossEntropy(a, labels([1, 2, 3, 10]))).toThrow(
      'crossEntropy: label 10 at index 3 is outside the 10 classes [0, 10)',
    );
    expect(() => crossEntropy(a, randn([4, 9], { rng: 1 }))).toThrow(
      /crossEntropy: probability targets \[4, 9\] differ in shape from logits \[4, 10\]/,
    );
    expect(() => nll(a, randn([4], { rng: 1 }))).toThrow(
      'nll: labels must be int32 class indices, got float32 of shape [4]',
    );
    expect(() => quadraticCost(a, labels([1, 2, 3, 4]))).toThrow(LossError);
    expect(() => mse(a, a, { reduction: 'avg' as 'mean' })).toThrow("mse: unknown reduction 'avg'");
  });
});
