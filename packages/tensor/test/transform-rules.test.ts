import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  apply,
  avgPool2d,
  bernoulli,
  concat,
  conv1d,
  conv2d,
  convTranspose2d,
  flip,
  grad,
  gradcheck,
  indexSelect,
  jvp,
  logSoftmax,
  matmul,
  maxPool2d,
  multinomial,
  type Op,
  pad,
  Rng,
  softmax,
  softmaxCrossEntropy,
  stack,
  type Tensor,
  tensor,
  vmap,
  where,
} from '../src/index.js';
import { outerOp } from '../src/ops/matmul.js';
import { awayFromZero, indices, uniform } from './support.js';

/**
 * Every primitive's JVP rule against central differences, and its batching
 * rule against a loop over examples (for the op itself and for its VJP ops,
 * through per-example gradients), in float64.
 */

type Case = [name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[]];

const u = uniform;
const pos = (shape: number[], seed: number) => uniform(shape, seed, 0.5, 2);
const idx = indices([5], 4, 99);

const cases: Case[] = [
  ['neg, exp, log', (a) => a.neg().exp().add(a.square().add(1).log()), [u([2, 3], 1)]],
  ['sqrt, abs, sign', (a) => a.abs().sqrt().mul(a.sign()), [awayFromZero([2, 3], 2)]],
  ['sin, cos, tanh', (a) => a.sin().mul(a.cos()).add(a.tanh()), [u([2, 3], 3, -3, 3)]],
  ['sigmoid, relu, erf', (a) => a.sigmoid().add(a.relu()).add(a.erf()), [awayFromZero([3, 2], 4)]],
  ['add, sub broadcast', (a, b) => a.add(b).sub(b.mul(2)), [u([3, 1, 4], 5), u([2, 1], 6)]],
  ['mul, div broadcast', (a, b) => a.mul(b).div(b.add(3)), [u([2, 3], 7), u([3], 8)]],
  ['pow of both', (a, b) => a.pow(b), [pos([2, 3], 9), u([3], 10, -2, 2)]],
  [
    'maximum, minimum',
    (a, b) => a.maximum(b).add(a.minimum(b.mul(0.5))),
    [u([3, 1], 11), u([4], 12)],
  ],
  [
    'where, comparisons',
    (c, a, b) =>
      where(c.gt(0), a, b)
        .add(where(c.le(0), a.mul(2), 0))
        .mul(c.ne(0.5)),
    [awayFromZero([3, 4], 13), u([3, 4], 14), u([4], 15)],
  ],
  [
    'cast',
    (a) => a.cast('float32').cast('float64').mul(0).add(a.cast('float64').square()),
    [u([3], 16)],
  ],
  ['sum, mean', (a) => a.sum(1).add(a.mean([0, 2], true).sum()), [u([2, 3, 4], 17)]],
  [
    'max, min, argmax',
    (a) =>
      a
        .max(1)
        .add(a.min([0, 2], true).sum())
        .add(a.argmax(1).cast('float64')),
    [u([2, 3, 4], 18)],
  ],
  ['argmax over all', (a) => a.mul(a.argmax().cast('float64')), [u([2, 3], 19)]],
  ['logSumExp', (a) => a.logSumExp(-1), [u([3, 4], 20, -3, 3)]],
  ['softmax, logSoftmax', (a) => softmax(a).add(logSoftmax(a, 0)), [u([3, 4], 21, -3, 3)]],
  ['softmaxCrossEntropy', (a) => softmaxCrossEntropy(a, idx), [u([5, 4], 30, -3, 3)]],
  ['matmul', (a, b) => matmul(a, b), [u([3, 4], 22), u([4, 5], 23)]],
  [
    'matmul A·Bᵀ, batched',
    (a, b) => matmul(a, b, { transB: true }),
    [u([2, 3, 4], 24), u([5, 4], 25)],
  ],
  ['matmul Aᵀ·B', (a, b) => matmul(a, b, { transA: true }), [u([4, 3], 26), u([4, 2], 27)]],
  [
    'matmul vectors',
    (a, b) => matmul(a, b).add(matmul(b, a.reshape([4, 1])).sum()),
    [u([4], 28), u([4], 29)],
  ],
  [
    'reshape, permute, transpose',
    (a) => a.reshape([3, 2, 2]).permute([2, 0, 1]).T,
    [u([2, 6], 30)],
  ],
  [
    'broadcastTo, expandDims, squeeze',
    (a) => a.broadcastTo([2, 3, 4]).expandDims(1).squeeze(1),
    [u([3, 1], 31)],
  ],
  [
    'slice, narrow, step',
    (a) =>
      a
        .slice([1, 0], [3, -1])
        .add(a.slice([0, 0], [4, 3], [2, 1]).sum())
        .add(a.narrow(0, 0, 2).narrow(1, 1, 3)),
    [u([4, 4], 32)],
  ],
  [
    'pad constant and reflect, flip',
    (a) => pad(a, [1, 2], { value: 3 }).add(pad(flip(a, 1), [1, 2], { mode: 'reflect' })),
    [u([2, 4], 33)],
  ],
  [
    'concat, stack',
    (a, b) => concat([a, b], 1).add(stack([a.sum(1), b.sum(1)], 1).sum()),
    [u([2, 2], 34), u([2, 3], 35)],
  ],
  [
    'indexSelect with repeats',
    (a) => indexSelect(a, 0, idx).add(indexSelect(a, 1, indices([2, 2], 3, 4)).sum()),
    [u([4, 3], 36)],
  ],
  [
    'outer (row by row)',
    (a, b) => apply(outerOp, [a, b.mul(b.gt(0))], undefined),
    [u([2, 3], 46), awayFromZero([2, 5], 47)],
  ],
  [
    'conv2d with bias, stride, padding, groups',
    (x, w, b) => conv2d(x, w, b, { stride: 2, padding: 1, groups: 2 }),
    [u([2, 4, 5, 5], 37), u([6, 2, 3, 3], 38), u([6], 39)],
  ],
  [
    'conv1d with dilation',
    (x, w) => conv1d(x, w, null, { dilation: 2 }),
    [u([2, 2, 9], 40), u([3, 2, 3], 41)],
  ],
  [
    'convTranspose2d',
    (x, w) => convTranspose2d(x, w, null, { stride: 2, padding: 1 }),
    [u([1, 2, 3, 3], 42), u([2, 3, 3, 3], 43)],
  ],
  ['maxPool2d', (x) => maxPool2d(x, 2, { stride: 1 }), [awayFromZero([1, 2, 4, 4], 44)]],
  [
    'avgPool2d, adaptiveAvgPool2d',
    (x) =>
      avgPool2d(x, 2, { padding: 1 })
        .sum()
        .add(adaptiveAvgPool2d(x, [2, 3])),
    [u([1, 2, 5, 4], 45)],
  ],
];

/** The directional derivative of f at xs along ts, by Richardson-extrapolated central differences. */
function numericJvp(f: (...xs: Tensor[]) => Tensor, xs: Tensor[], ts: Tensor[]): number[] {
  const at = (s: number) => flat(f(...xs.map((x, k) => x.add(ts[k]!.mul(s)))));
  const central = (h: number) => {
    const [p, m] = [at(h), at(-h)];
    return p.map((v, i) => (v - m[i]!) / (2 * h));
  };
  const [d1, d2] = [central(1e-3), central(5e-4)];
  return d2.map((v, i) => (4 * v - d1[i]!) / 3);
}

/** grad of a function of any number of tensors, typed as such. */
const gradOf = (fn: (...xs: Tensor[]) => Tensor) =>
  grad(fn) as unknown as (...xs: Tensor[]) => Tensor | Tensor[];

const flat = (t: Tensor): number[] => Array.from(t.cast('float64').data);

function expectClose(actual: number[], expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  actual.forEach((a, i) => {
    const e = expected[i]!;
    worst = Math.max(worst, Math.abs(a - e) / Math.max(1, Math.abs(a), Math.abs(e)));
  });
  expect(worst).toBeLessThanOrEqual(tol);
}

/**
 * A batch of 3 examples along a new leading axis: x and two copies scaled
 * away from zero (signs, orderings and domains kept, values all different).
 */
function batchOf(x: Tensor, _seed: number): Tensor {
  return stack([0, 1, 2].map((b) => x.mul(1 + 0.15 * b).add(x.sign().mul(0.02 * b))));
}

describe('every primitive has a JVP rule and a batching rule', async () => {
  // Every module of src/ops, so that an op added in a new file is checked too.
  const dir = fileURLToPath(new URL('../src/ops/', import.meta.url));
  const modules: Record<string, unknown>[] = await Promise.all(
    readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => import(pathToFileURL(join(dir, f)).href)),
  );
  const ops: Op<unknown>[] = [];
  for (const m of modules) {
    for (const v of Object.values(m)) {
      const candidates = v && typeof v === 'object' && !('infer' in v) ? Object.values(v) : [v];
      for (const c of candidates) {
        if (
          c &&
          typeof c === 'object' &&
          'infer' in c &&
          'kernel' in c &&
          !ops.includes(c as Op<unknown>)
        ) {
          ops.push(c as Op<unknown>);
        }
      }
    }
  }

  it('finds the table', () => {
    const names = new Set(ops.map((o) => o.name));
    for (const n of [
      'add',
      'erf',
      'sum',
      'matmul',
      'conv2d',
      'conv2dWeightGrad',
      'scatterAdd',
      'gatherLast',
      'multinomial',
      'flip',
      'pad',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });

  it.each(ops.map((o) => [o.name, o] as const))('%s', (_name, op) => {
    expect(typeof op.jvp).toBe('function');
    expect(typeof op.batch).toBe('function');
  });
});

describe('JVP rules against central differences (float64, 1e-9 relative)', () => {
  it.each(cases)('%s', (_name, f, inputs) => {
    const tangents = inputs.map((x, k) => u(x.shape as number[], 500 + k));
    const [out, t] = jvp(f, inputs, tangents);
    expectClose(flat(out), flat(f(...inputs)), 0);
    expectClose(flat(t), numericJvp(f, inputs, tangents), 1e-9);
  });
});

describe('batching rules against a loop over examples', () => {
  it.each(cases)('%s: vmap(f) with every argument batched', (_name, f, inputs) => {
    const batched = inputs.map((x, k) => batchOf(x, 700 + 10 * k));
    const got = vmap(f)(...batched) as Tensor;
    const loop = stack(
      [0, 1, 2].map((b) => f(...batched.map((x) => x.narrow(0, b, 1).squeeze(0)))),
    );
    expect(got.shape).toEqual(loop.shape);
    expectClose(flat(got), flat(loop), 1e-12);
  });

  it.each(cases.filter(([, , xs]) => xs.length > 1))(
    '%s: vmap(f) with the first argument shared',
    (_name, f, inputs) => {
      const rest = inputs.slice(1).map((x, k) => batchOf(x, 800 + 10 * k));
      const got = vmap(f, { inAxes: [null, ...rest.map(() => 0)] })(inputs[0]!, ...rest) as Tensor;
      const loop = stack(
        [0, 1, 2].map((b) => f(inputs[0]!, ...rest.map((x) => x.narrow(0, b, 1).squeeze(0)))),
      );
      expectClose(flat(got), flat(loop), 1e-12);
    },
  );

  it.each(cases.filter(([, , xs]) => xs.length > 1))(
    '%s: vmap(f) with only the first argument batched',
    (_name, f, inputs) => {
      const x = batchOf(inputs[0]!, 850);
      const rest = inputs.slice(1);
      const got = vmap(f, { inAxes: [0, ...rest.map(() => null)] })(x, ...rest) as Tensor;
      const loop = stack([0, 1, 2].map((b) => f(x.narrow(0, b, 1).squeeze(0), ...rest)));
      expectClose(flat(got), flat(loop), 1e-12);
      // and per-example gradients of the shared arguments
      const scalar = (...xs: Tensor[]) =>
        f(...xs)
          .square()
          .sum();
      const g = vmap(gradOf(scalar), { inAxes: [0, ...rest.map(() => null)] })(
        x,
        ...rest,
      ) as Tensor[];
      const each = [0, 1, 2].map(
        (b) => gradOf(scalar)(x.narrow(0, b, 1).squeeze(0), ...rest) as Tensor[],
      );
      g.forEach((gk, k) => {
        expectClose(flat(gk), flat(stack(each.map((e) => e[k]!))), 1e-11);
      });
    },
  );

  it.each(cases)('%s: per-example gradients, vmap(grad(f))', (_name, f, inputs) => {
    const scalar = (...xs: Tensor[]) =>
      f(...xs)
        .square()
        .sum();
    const [first, ...rest] = inputs;
    const batched = rest.map((x, k) => batchOf(x, 900 + 10 * k));
    const x0 = batchOf(first!, 990);
    const got = vmap(gradOf(scalar), { inAxes: [0, ...rest.map(() => 0)] })(x0, ...batched);
    const gotList = Array.isArray(got) ? got : [got];
    const loop = [0, 1, 2].map((b) => {
      const g = gradOf(scalar)(
        x0.narrow(0, b, 1).squeeze(0),
        ...batched.map((x) => x.narrow(0, b, 1).squeeze(0)),
      );
      return Array.isArray(g) ? g : [g];
    });
    gotList.forEach((g, k) => {
      expectClose(flat(g), flat(stack(loop.map((l) => l[k]!))), 1e-11);
    });
  });

  it('batches int32 indices per example (indexSelect and its VJP, scatterAdd)', () => {
    const x = u([3, 4, 2], 60);
    const ids = indices([3, 5], 4, 61);
    const f = (a: Tensor, i: Tensor) => indexSelect(a, 0, i).square();
    const loop = stack(
      [0, 1, 2].map((b) => f(x.narrow(0, b, 1).squeeze(0), ids.narrow(0, b, 1).squeeze(0))),
    );
    expectClose(flat(vmap(f)(x, ids) as Tensor), flat(loop), 1e-12);
    // the same indices for a shared table
    const table = u([4, 2], 62);
    const shared = vmap(f, { inAxes: [null, 0] })(table, ids) as Tensor;
    expectClose(
      flat(shared),
      flat(stack([0, 1, 2].map((b) => f(table, ids.narrow(0, b, 1).squeeze(0))))),
      1e-12,
    );
    // per-example gradients of the table through per-example indices: scatterAdd batched
    const g = vmap(
      grad((a: Tensor, i: Tensor) => f(a, i).sum()) as (a: Tensor, i: Tensor) => Tensor[],
      {
        inAxes: [null, 0],
      },
    )(table, ids) as unknown as Tensor[];
    const expected = stack(
      [0, 1, 2].map(
        (b) =>
          (
            grad((a: Tensor, i: Tensor) => f(a, i).sum())(
              table,
              ids.narrow(0, b, 1).squeeze(0),
            ) as Tensor[]
          )[0]!,
      ),
    );
    expectClose(flat(g[0]!), flat(expected), 1e-12);
  });

  it('random ops: a shared bernoulli mask, and multinomial rows drawn per example', () => {
    const x = u([3, 4], 70);
    const out = vmap((a: Tensor) => a.mul(bernoulli([4], 0.5, new Rng(1), { dtype: 'float64' })))(
      x,
    ) as Tensor;
    const mask = bernoulli([4], 0.5, new Rng(1), { dtype: 'float64' });
    expectClose(flat(out), flat(x.mul(mask)), 0);
    const probs = pos([3, 5], 71);
    const draws = vmap((p: Tensor) => multinomial(p, 2, { rng: new Rng(2) }))(probs) as Tensor;
    expect(Array.from(draws.data)).toEqual(
      Array.from(multinomial(probs, 2, { rng: new Rng(2) }).data),
    );
  });

  it('outer: gradients by central differences, and a zero times a non-finite value is NaN', () => {
    const r = gradcheck(
      (a, b) => apply(outerOp, [a!, b!], undefined).square(),
      [u([2, 3], 90), u([2, 4], 91)],
    );
    expect(r.maxRelError).toBeLessThan(1e-6);
    const a = tensor([[1, Number.POSITIVE_INFINITY]]);
    const b = tensor([[0, 2]]);
    const out = Array.from(apply(outerOp, [a, b], undefined).data);
    expect(out[0]).toBe(0);
    expect(out[1]).toBe(2);
    expect(out[2]).toBeNaN();
    expect(out[3]).toBe(Number.POSITIVE_INFINITY);
    expect(() => apply(outerOp, [u([2, 3], 1), u([3, 3], 2)], undefined)).toThrow(
      /outer: leading shapes differ: \[2, 3\] and \[3, 3\]/,
    );
  });

  it('outer in float32 (the SIMD path) gives each float32 product, +0 for a zero, NaN for 0·∞', () => {
    // Rows of b whose length is and is not a multiple of 4, large enough for SIMD;
    // the last two span several blocks of the kernel's result, the last one partly full.
    for (const [rows, m, n] of [
      [3, 16, 100],
      [4, 17, 61],
      [12, 16, 784],
      [7, 40, 250],
    ] as const) {
      const a = uniform([rows, m], 92, -2, 2).cast('float32');
      const b = uniform([rows, n], 93, -2, 2).cast('float32');
      // Zeros in b meet negative factors (−0 unless normalised); a non-finite factor meets them too.
      for (let i = 0; i < b.data.length; i += 3) b.data[i] = 0;
      a.data[5] = Number.NEGATIVE_INFINITY;
      a.data[m + 1] = Number.NaN;
      const got = apply(outerOp, [a, b], undefined).data;
      const want = new Float32Array(rows * m * n);
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++)
            want[(r * m + i) * n + j] = a.data[r * m + i]! * b.data[r * n + j]! + 0;
      expect(got).toEqual(want);
      const bits = (x: ArrayLike<number>) => Array.from(x, (v) => (Object.is(v, -0) ? '-0' : v));
      expect(bits(got)).toEqual(bits(want));
    }
  });

  it('outAxes and inAxes other than 0', () => {
    const x = u([4, 3], 80);
    const f = (a: Tensor) => a.mul(tensor([1, 2, 3, 4], { dtype: 'float64' }));
    // batch along axis 1 of x, out along axis 1
    const got = vmap(f, { inAxes: [1], outAxes: 1 })(x) as Tensor;
    expectClose(flat(got), flat(x.mul(tensor([[1], [2], [3], [4]], { dtype: 'float64' }))), 0);
  });
});
