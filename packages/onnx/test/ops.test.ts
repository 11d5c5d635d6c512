import {
  argmax,
  concat,
  indexSelect,
  logSoftmax,
  matmul,
  Rng,
  randn,
  softmax,
  type Tensor,
  tensor,
  where,
} from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import type { Dim } from '../src/index.js';
import { toOnnx } from '../src/index.js';
import { maxDifference, runOnnx } from './ort.js';

/** Exports `fn`, runs it in onnxruntime-web on `inputs`, and compares with neurite's result. */
async function agree(
  fn: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: { shapes?: Dim[][]; opset?: number; tolerance?: number } = {},
): Promise<void> {
  const bytes = toOnnx(fn, {
    inputShapes: options.shapes ?? inputs.map((x) => x.shape),
    inputDtypes: inputs.map((x) => x.dtype),
    ...(options.opset ? { opset: options.opset } : {}),
  });
  const expected = fn(...inputs);
  const feeds = Object.fromEntries(
    inputs.map((x, i) => [inputs.length > 1 ? `input_${i}` : 'input', x]),
  );
  const { output } = await runOnnx(bytes, feeds);
  expect(output!.dims).toEqual(expected.shape);
  const tolerance = options.tolerance ?? 1e-5;
  expected.data.forEach((v, i) => {
    const got = output!.data[i]!;
    if (Number.isNaN(v)) expect(got).toBeNaN();
    else expect(Math.abs(got - v), `element ${i}: ${got} vs ${v}`).toBeLessThanOrEqual(tolerance);
  });
}

const rng = new Rng(11);
const x34 = randn([3, 4], { rng });
const y34 = randn([3, 4], { rng });
const positive = x34.abs().add(0.5);

describe('elementwise primitives', () => {
  it.each([
    ['neg', (x: Tensor) => x.neg()],
    ['exp', (x: Tensor) => x.exp()],
    ['log', (x: Tensor) => x.abs().add(0.5).log()],
    ['sqrt', (x: Tensor) => x.abs().sqrt()],
    ['sign', (x: Tensor) => x.sign()],
    ['sin and cos', (x: Tensor) => x.sin().add(x.cos())],
    ['tanh', (x: Tensor) => x.tanh()],
    ['sigmoid', (x: Tensor) => x.sigmoid()],
    ['relu', (x: Tensor) => x.relu()],
    ['leakyRelu (where, gt)', (x: Tensor) => x.leakyRelu(0.1)],
    ['clip (maximum, minimum)', (x: Tensor) => x.clip(-0.5, 0.5)],
    ['pow', (x: Tensor) => x.abs().add(0.5).pow(1.5)],
  ])('%s', async (_name, fn) => {
    await agree(fn, [x34]);
  });

  it('binary ops broadcast as in neurite', async () => {
    const row = randn([4], { rng });
    await agree((a, b) => a.add(b).mul(a).sub(b.div(2)), [x34, row]);
    await agree((a, b) => a.div(b), [x34, positive]);
  });

  it('comparisons give 0/1 of the operands dtype', async () => {
    await agree((a, b) => a.lt(b).add(a.le(b)).add(a.gt(b)).add(a.ge(b)), [x34, y34]);
    await agree((a, b) => a.eq(b).add(a.ne(b).mul(2)), [x34, x34.relu()]);
    await agree((a, b) => where(a.gt(b), a, b.mul(3)), [x34, y34]);
  });

  it('int32 inputs are promoted where neurite promotes them', async () => {
    const ints = tensor(
      [
        [1, 2, 3],
        [4, 5, 7],
      ],
      { dtype: 'int32' },
    );
    await agree((a) => a.div(2), [ints]);
    await agree((a) => a.cast('float32').mul(0.5).add(a.mul(3).cast('float32')), [ints]);
  });
});

describe('matrix products', () => {
  it('2-D products with each transposition become Gemm', async () => {
    const a = randn([3, 5], { rng });
    const b = randn([5, 2], { rng });
    await agree((p, q) => matmul(p, q), [a, b]);
    await agree((p, q) => matmul(p, q, { transA: true }), [a.T, b]);
    await agree((p, q) => matmul(p, q, { transB: true }), [a, b.T]);
    await agree((p, q) => matmul(p, q, { transA: true, transB: true }), [a.T, b.T]);
  });

  it('batched products broadcast their batch axes', async () => {
    const a = randn([2, 3, 5], { rng });
    const b = randn([5, 4], { rng });
    await agree((p, q) => matmul(p, q), [a, b]);
    await agree((p, q) => matmul(p, q, { transB: true }), [a, randn([2, 4, 5], { rng })]);
  });
});

describe('reductions, movement and normalisation', () => {
  const x = randn([2, 3, 4], { rng });

  it.each([17, 18])('sum, max, mean and logSumExp at opset %i', async (opset) => {
    await agree((t) => t.sum(1).add(t.max(-1, false).sum(1, true)), [x], { opset });
    await agree((t) => t.mean([0, 2], true).mul(t), [x], { opset });
    await agree((t) => t.logSumExp(-1), [x], { opset });
    await agree((t) => t.max(), [x], { opset });
  });

  it('argmax along an axis and over everything', async () => {
    await agree((t) => argmax(t, 1).cast('float32'), [x]);
    await agree((t) => argmax(t, -1, true).cast('float32'), [x]);
    await agree((t) => argmax(t).cast('float32'), [x]);
  });

  it('reshape, permute, transpose, slice, concat and broadcastTo', async () => {
    await agree((t) => t.reshape([6, 4]).T.reshape([-1]), [x]);
    await agree((t) => t.permute([2, 0, 1]), [x]);
    await agree((t) => t.slice([0, 1], [2, 3]).add(1), [x]);
    await agree((t) => concat([t, t.mul(2)], 1), [x]);
    await agree((t) => t.sum(0, true).broadcastTo([5, 3, 4]), [x]);
  });

  it('softmax and logSoftmax on any axis', async () => {
    await agree((t) => softmax(t, 1), [x]);
    await agree((t) => logSoftmax(t), [x]);
  });

  it('indexSelect with int32 indices becomes Gather', async () => {
    const table = randn([6, 3], { rng });
    const ids = tensor(
      [
        [5, 0],
        [2, 2],
      ],
      { dtype: 'int32' },
    );
    await agree((t, i) => indexSelect(t, 0, i), [table, ids]);
    await agree((t, i) => indexSelect(t, 1, i), [table, tensor([2, 0], { dtype: 'int32' })]);
  });
});

describe('dynamic dimensions', () => {
  it('reshape, broadcastTo and slice follow a named dimension', async () => {
    const fn = (t: Tensor) =>
      t
        .reshape([-1, 12])
        .slice([0, 2], [undefined as unknown as number, 8])
        .add(t.sum([1, 2]).reshape([-1, 1]).broadcastTo([t.shape[0]!, 6]));
    const bytes = toOnnx(fn, { inputShape: ['batch', 3, 4] });
    for (const n of [1, 3, 8]) {
      const input = randn([n, 3, 4], { rng });
      const { output } = await runOnnx(bytes, { input });
      const expected = fn(input);
      expect(output!.dims).toEqual([n, 6]);
      expect(maxDifference(output!.data, expected.data)).toBeLessThan(1e-5);
    }
  });
});
