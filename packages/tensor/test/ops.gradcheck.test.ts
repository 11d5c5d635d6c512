import { describe, expect, it } from 'vitest';
import {
  apply,
  concat,
  defineOp,
  div,
  gradcheck,
  indexSelect,
  logSoftmax,
  matmul,
  oneHot,
  pow,
  softmax,
  softmaxCrossEntropy,
  stack,
  sub,
  type Tensor,
  where,
} from '../src/index.js';
import { awayFromZero, indices, uniform } from './support.js';

type Case = [name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[]];

const u = uniform;
const pos = (shape: number[], seed: number) => uniform(shape, seed, 0.5, 2);
const idx = indices([5], 4, 99);
const labels = indices([3], 4, 7);

/**
 * Every differentiable op, on shapes that exercise broadcasting and
 * reductions over several axes. Inputs avoid kinks (|x| ≥ 0.1 where an op
 * bends at 0) and domains' edges, so central differences are exact to ~1e-9.
 */
const cases: Case[] = [
  // elementwise, same shape
  ['add', (a, b) => a.add(b), [u([2, 3], 1), u([2, 3], 2)]],
  ['sub', (a, b) => a.sub(b), [u([2, 3], 3), u([2, 3], 4)]],
  ['mul', (a, b) => a.mul(b), [u([2, 3], 5), u([2, 3], 6)]],
  ['div', (a, b) => a.div(b), [u([2, 3], 7), pos([2, 3], 8)]],
  ['neg', (a) => a.neg(), [u([4], 9)]],
  ['pow (base and exponent)', (a, b) => a.pow(b), [pos([2, 3], 10), u([2, 3], 11, -2, 2)]],
  ['pow by a constant', (a) => a.pow(3), [u([5], 12)]],
  ['pow by a negative constant', (a) => a.pow(-1.5), [pos([5], 13)]],
  ['exp', (a) => a.exp(), [u([2, 3], 14, -3, 3)]],
  ['log', (a) => a.log(), [pos([2, 3], 15)]],
  ['sqrt', (a) => a.sqrt(), [pos([2, 3], 16)]],
  ['abs', (a) => a.abs(), [awayFromZero([2, 3], 17)]],
  ['sin', (a) => a.sin(), [u([2, 3], 18, -3, 3)]],
  ['cos', (a) => a.cos(), [u([2, 3], 19, -3, 3)]],
  ['tanh', (a) => a.tanh(), [u([2, 3], 20, -3, 3)]],
  ['sigmoid', (a) => a.sigmoid(), [u([2, 3], 21, -4, 4)]],
  ['erf', (a) => a.erf(), [u([3, 4], 91, -3.5, 3.5)]],
  ['relu', (a) => a.relu(), [awayFromZero([2, 3], 22)]],
  ['leakyRelu', (a) => a.leakyRelu(0.1), [awayFromZero([2, 3], 23)]],
  ['square', (a) => a.square(), [u([3], 24)]],
  ['maximum', (a, b) => a.maximum(b), [u([3, 4], 25), u([3, 4], 26)]],
  ['minimum', (a, b) => a.minimum(b), [u([3, 4], 27), u([3, 4], 28)]],
  ['clip', (a) => a.clip(-0.5, 0.5), [u([3, 4], 29)]],
  [
    'where',
    (c, a, b) => where(c.gt(0), a, b),
    [awayFromZero([3, 4], 30), u([3, 4], 31), u([3, 4], 32)],
  ],
  ['cast to float64', (a) => a.cast('float64').mul(a), [u([3], 33)]],

  // function forms with a plain number on the left
  ['sub(1, x)', (a) => sub(1, a), [u([3], 34)]],
  ['div(2, x)', (a) => div(2, a), [pos([3], 35)]],
  ['pow(2, x): gradient of the exponent', (a) => pow(2, a), [u([3], 36)]],
  ['where(c, x, 0)', (a) => where(a.gt(0), a.exp(), 0), [awayFromZero([4], 37)]],

  // elementwise, broadcast: the engine sums the gradient back to each input's shape
  ['add [3,1,4] + [2,1]', (a, b) => a.add(b), [u([3, 1, 4], 40), u([2, 1], 41)]],
  ['sub [4] - [2,3,4]', (a, b) => a.sub(b), [u([4], 42), u([2, 3, 4], 43)]],
  ['mul [2,3] * [3]', (a, b) => a.mul(b), [u([2, 3], 44), u([3], 45)]],
  ['mul by a 0-d tensor', (a, b) => a.mul(b), [u([2, 3], 46), u([], 47)]],
  ['div [2,1] / [1,3]', (a, b) => a.div(b), [u([2, 1], 48), pos([1, 3], 49)]],
  ['pow [2,3] ^ [3]', (a, b) => a.pow(b), [pos([2, 3], 50), u([3], 51)]],
  ['maximum [3,1] with [4]', (a, b) => a.maximum(b), [u([3, 1], 52), u([4], 53)]],
  ['minimum [1,4] with [3,1]', (a, b) => a.minimum(b), [u([1, 4], 54), u([3, 1], 55)]],
  [
    'where broadcasting all three',
    (c, a, b) => where(c.gt(0), a, b),
    [awayFromZero([3, 1], 56), u([1, 4], 57), u([4], 58)],
  ],

  // reductions
  ['sum all', (a) => a.sum(), [u([2, 3, 4], 60)]],
  ['sum axis 1', (a) => a.sum(1), [u([2, 3, 4], 61)]],
  ['sum axes [0,2] keepdims', (a) => a.sum([0, 2], true).mul(u([1, 3, 1], 62)), [u([2, 3, 4], 63)]],
  ['sum negative axis', (a) => a.sum(-1).square(), [u([2, 3], 64)]],
  ['mean all', (a) => a.mean(), [u([2, 3, 4], 65)]],
  ['mean axes [0,1]', (a) => a.mean([0, 1]).square(), [u([2, 3, 4], 66)]],
  ['mean axis 2 keepdims', (a) => a.mean(2, true).mul(a), [u([2, 3, 4], 67)]],
  ['max all', (a) => a.max(), [u([2, 3, 4], 68)]],
  ['max axis 0', (a) => a.max(0).square(), [u([3, 4], 69)]],
  ['max axes [0,2] keepdims', (a) => a.max([0, 2], true).mul(a), [u([2, 3, 4], 70)]],
  ['min axis 1', (a) => a.min(1).square(), [u([3, 4], 71)]],
  ['min axes [1,2]', (a) => a.min([1, 2]).exp(), [u([2, 3, 4], 72)]],
  ['logSumExp all', (a) => a.logSumExp(), [u([3, 4], 73, -3, 3)]],
  ['logSumExp axes [1,2] keepdims', (a) => a.logSumExp([1, 2], true).mul(a), [u([2, 3, 4], 74)]],
  ['logSumExp of large logits', (a) => a.mul(1000).logSumExp(-1), [u([2, 3], 75)]],

  // softmax family
  ['softmax last axis', (a) => softmax(a).mul(u([3, 4], 80)), [u([3, 4], 81, -3, 3)]],
  ['softmax axis 0', (a) => softmax(a, 0).mul(u([3, 4], 82)), [u([3, 4], 83, -3, 3)]],
  ['softmax axis 1 of 3-D', (a) => softmax(a, 1).square(), [u([2, 3, 4], 84, -3, 3)]],
  ['logSoftmax last axis', (a) => logSoftmax(a).mul(u([3, 4], 85)), [u([3, 4], 86, -3, 3)]],
  ['logSoftmax axis 1 of 3-D', (a) => logSoftmax(a, 1).square(), [u([2, 3, 4], 87, -3, 3)]],
  [
    'cross-entropy from logits',
    (a) =>
      logSoftmax(a)
        .mul(oneHot(labels, 4, 'float64'))
        .sum()
        .neg(),
    [u([3, 4], 88, -3, 3)],
  ],
  [
    'softmaxCrossEntropy, each row weighted',
    (a) => softmaxCrossEntropy(a, labels).mul(u([3], 89)),
    [u([3, 4], 89, -3, 3)],
  ],
  [
    'softmaxCrossEntropy over a 3-D batch',
    (a) => softmaxCrossEntropy(a, indices([2, 3], 4, 8)).square(),
    [u([2, 3, 4], 87, -3, 3)],
  ],

  // matmul: 2-D, every transpose flag, batched, broadcast batch axes, vectors
  ['matmul 2-D', (a, b) => matmul(a, b), [u([3, 4], 90), u([4, 5], 91)]],
  ['matmul Aᵀ·B', (a, b) => matmul(a, b, { transA: true }), [u([4, 3], 92), u([4, 5], 93)]],
  ['matmul A·Bᵀ', (a, b) => matmul(a, b, { transB: true }), [u([3, 4], 94), u([5, 4], 95)]],
  [
    'matmul Aᵀ·Bᵀ',
    (a, b) => matmul(a, b, { transA: true, transB: true }),
    [u([4, 3], 96), u([5, 4], 97)],
  ],
  ['matmul batched', (a, b) => matmul(a, b), [u([2, 3, 4], 98), u([2, 4, 2], 99)]],
  [
    'matmul batch broadcast [2,1,3,4]@[3,4,2]',
    (a, b) => matmul(a, b),
    [u([2, 1, 3, 4], 100), u([3, 4, 2], 101)],
  ],
  ['matmul batched @ 2-D', (a, b) => matmul(a, b), [u([2, 3, 4], 102), u([4, 2], 103)]],
  [
    'matmul batched Aᵀ·Bᵀ with broadcast',
    (a, b) => matmul(a, b, { transA: true, transB: true }),
    [u([1, 4, 3], 104), u([2, 5, 4], 105)],
  ],
  ['matmul vector @ matrix', (a, b) => matmul(a, b), [u([4], 106), u([4, 3], 107)]],
  ['matmul matrix @ vector', (a, b) => matmul(a, b), [u([3, 4], 108), u([4], 109)]],
  ['matmul vector @ vector', (a, b) => matmul(a, b), [u([4], 110), u([4], 111)]],
  ['matmul vector @ batched', (a, b) => matmul(a, b), [u([4], 112), u([2, 4, 3], 113)]],

  // movement
  ['reshape', (a) => a.reshape([3, -1]).mul(u([3, 4], 120)), [u([2, 6], 121)]],
  ['flatten', (a) => a.flatten().mul(u([6], 122)), [u([2, 3], 123)]],
  ['transpose', (a) => a.T.mul(u([4, 3], 124)), [u([3, 4], 125)]],
  ['transpose axes 0 and 2', (a) => a.transpose(0, 2).mul(u([4, 3, 2], 126)), [u([2, 3, 4], 127)]],
  ['permute', (a) => a.permute([2, 0, 1]).mul(u([4, 2, 3], 128)), [u([2, 3, 4], 129)]],
  ['broadcastTo', (a) => a.broadcastTo([2, 3, 4]).mul(u([2, 3, 4], 130)), [u([3, 1], 131)]],
  ['expandDims', (a) => a.expandDims(1).mul(u([2, 3, 4], 132)), [u([2, 4], 133)]],
  ['squeeze', (a) => a.squeeze().mul(u([3, 4], 134)), [u([1, 3, 1, 4], 135)]],
  ['slice', (a) => a.slice([1, 0], [3, -1]).mul(u([2, 3], 136)), [u([4, 4], 137)]],
  ['slice of 3-D', (a) => a.slice([0, 1, 2]).mul(u([2, 2, 2], 138)), [u([2, 3, 4], 139)]],
  ['narrow', (a) => a.narrow(1, 1, 2).square(), [u([3, 4], 140)]],
  [
    'concat axis 1',
    (a, b) => concat([a, b], 1).mul(u([2, 5], 141)),
    [u([2, 2], 142), u([2, 3], 143)],
  ],
  [
    'concat axis 0 of three',
    (a, b, c) => concat([a, b, c], 0).mul(u([6, 2], 144)),
    [u([1, 2], 145), u([2, 2], 146), u([3, 2], 147)],
  ],
  ['concat one tensor with itself', (a) => concat([a, a], 0).square(), [u([2, 2], 148)]],
  [
    'stack axis 1',
    (a, b) => stack([a, b], 1).mul(u([2, 2, 3], 149)),
    [u([2, 3], 150), u([2, 3], 151)],
  ],
  [
    'indexSelect rows with repeats',
    (a) => indexSelect(a, 0, idx).mul(u([5, 3], 152)),
    [u([4, 3], 153)],
  ],
  ['indexSelect columns', (a) => indexSelect(a, 1, idx).square(), [u([2, 4], 154)]],
  [
    'indexSelect with 2-D indices',
    (a) => indexSelect(a, 0, indices([2, 3], 4, 5)).mul(u([2, 3, 2], 155)),
    [u([4, 2], 156)],
  ],
];

describe('gradcheck in float64: every differentiable op', () => {
  it.each(cases)('%s', (_name, f, inputs) => {
    const r = gradcheck(f, inputs);
    expect(r.maxRelError, JSON.stringify(r)).toBeLessThan(1e-6);
    expect(r.ok).toBe(true);
  });
});

describe('gradcheck itself', () => {
  // `double` claims a gradient of 3 where the true one is 2: gradcheck must notice.
  const double = defineOp({
    name: 'double',
    infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
    kernel:
      () =>
      (o, [a]) => {
        for (let i = 0; i < o.length; i++) o[i] = 2 * a![i]!;
      },
    vjp: (g) => [() => g.mul(3)],
  });

  it('reports a wrong VJP with the worst element and its input', () => {
    const r = gradcheck(
      (a, b) => a.mul(b).add(apply(double, [b], undefined)),
      [u([3], 1), u([3], 2)],
    );
    expect(r.ok).toBe(false);
    expect(r.where.input).toBe(1);
    expect(r.where.index).toBeGreaterThanOrEqual(0);
    expect(r.where.index).toBeLessThan(3);
    expect(Math.abs(r.analytic - r.numeric)).toBeCloseTo(1, 5);
    expect(r.maxRelError).toBeGreaterThan(0.1);
  });

  it('checks in float64 even when given float32 inputs', () => {
    // In float32 the central difference of exp at eps 1e-6 is wrong by ~1e-2.
    const x = u([4], 3).cast('float32');
    expect(gradcheck((a) => a.exp(), [x]).maxRelError).toBeLessThan(1e-8);
  });

  it('passes int32 inputs through unchecked and leaves every input unchanged', () => {
    const x = u([4, 3], 5);
    const before = Array.from(x.data);
    const ids = indices([6], 4, 6);
    const r = gradcheck((a, i) => indexSelect(a, 0, i!).square(), [x, ids]);
    expect(r.maxRelError).toBeLessThan(1e-6);
    expect(r.where.input).toBe(0);
    expect(Array.from(x.data)).toEqual(before);
    expect(ids.dtype).toBe('int32');
  });

  it('reports a NaN gradient as a failure', () => {
    const r = gradcheck((a) => a.sqrt(), [u([2], 4, -2, -1)]);
    expect(r.ok).toBe(false);
  });
});
