import { describe, expect, it } from 'vitest';
import {
  argmax,
  argmin,
  concat,
  div,
  grad,
  indexSelect,
  logSoftmax,
  lt,
  matmul,
  pow,
  softmax,
  stack,
  sub,
  type Tensor,
  tensor,
  where,
} from '../src/index.js';
import {
  broadcastIndex,
  broadcastRef,
  concatRef,
  expectAllClose,
  indices,
  matmulRef,
  permuteRef,
  type Reducer,
  ravel,
  reduceRef,
  sizeOfRef,
  sliceRef,
  uniform,
  unravel,
} from './support.js';

/** Eager kernels against naive loops written here, on odd sizes that defeat unrolling. */

describe('matmul kernels vs the triple loop', () => {
  const shapes: [string, number[], number[]][] = [
    ['2-D', [5, 7], [7, 3]],
    ['k = 1', [4, 1], [1, 6]],
    ['k not a multiple of 4', [3, 9], [9, 2]],
    ['batched', [2, 3, 5], [2, 5, 4]],
    ['batch broadcast [2,1,3,5] @ [3,5,4]', [2, 1, 3, 5], [3, 5, 4]],
    ['batch broadcast [1,3,5] @ [4,1,5,2]', [1, 3, 5], [4, 1, 5, 2]],
    ['batched @ 2-D', [3, 2, 6], [6, 5]],
  ];
  const flags: [boolean, boolean][] = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ];
  /** Stores a matrix operand transposed so that reading it with the flag gives the same product. */
  const stored = (shape: number[], trans: boolean) => {
    if (!trans) return shape;
    const s = shape.slice();
    const n = s.length;
    [s[n - 2], s[n - 1]] = [s[n - 1]!, s[n - 2]!];
    return s;
  };

  for (const [name, sa, sb] of shapes) {
    for (const [transA, transB] of flags) {
      it(`${name}, transA=${transA} transB=${transB}`, () => {
        const a = uniform(stored(sa, transA), 1);
        const b = uniform(stored(sb, transB), 2);
        const expected = matmulRef(a, b, transA, transB);
        const out = matmul(a, b, { transA, transB });
        expect(out.shape).toEqual(expected.shape);
        expectAllClose(out.data, expected.data);
        // float32 storage agrees to float32 precision
        const out32 = matmul(a.cast('float32'), b.cast('float32'), { transA, transB });
        expect(out32.dtype).toBe('float32');
        expectAllClose(out32.data, expected.data, { rtol: 1e-5, atol: 1e-5 });
      });
    }
  }

  // The sparse-aware kernels skip zero multipliers; 0·NaN and 0·∞ must still be NaN.
  it('skipping zero multipliers does not skip NaN or Infinity in the other operand', () => {
    const a = tensor(new Float64Array([0, 1, 2, 0]), { shape: [2, 2] });
    const b = tensor(new Float64Array([1, Number.NaN, 3, 4]), { shape: [2, 2] });
    // Row 0 is 0·[1, NaN] + 1·[3, 4]: IEEE (and NumPy) say 0·NaN = NaN.
    for (const out of [matmul(a, b), matmul(a.T, b, { transA: true })]) {
      expect(out.data[0]).toBe(3);
      expect(Number.isNaN(out.data[1]!)).toBe(true);
    }
    const inf = tensor(new Float64Array([Number.POSITIVE_INFINITY, 1, 1, 1]), { shape: [2, 2] });
    // 0·∞ = NaN in row 0, column 0
    expect(Number.isNaN(matmul(a, inf).data[0]!)).toBe(true);
    expect(Number.isNaN(matmul(a.T, inf, { transA: true }).data[0]!)).toBe(true);
  });

  it('vectors follow NumPy: [k]@[k,n] → [n], [m,k]@[k] → [m], [k]@[k] → []', () => {
    const v = uniform([4], 3);
    const m = uniform([4, 3], 4);
    const vm = matmul(v, m);
    expect(vm.shape).toEqual([3]);
    expectAllClose(vm.data, matmulRef(v.reshape([1, 4]), m).data);
    const mv = matmul(m.T, v);
    expect(mv.shape).toEqual([3]);
    expectAllClose(mv.data, matmulRef(m, v.reshape([4, 1]), true).data);
    const vv = matmul(v, v);
    expect(vv.shape).toEqual([]);
    expect(vv.item()).toBeCloseTo(
      Array.from(v.data).reduce((s, x) => s + x * x, 0),
      12,
    );
    const batched = uniform([2, 4, 3], 5);
    expect(matmul(v, batched).shape).toEqual([2, 3]);
    expect(matmul(batched.transpose(1, 2), v).shape).toEqual([2, 3]);
  });
});

describe('reductions vs reference loops', () => {
  const x = uniform([3, 4, 5, 2], 10);
  const axesSets = [[0], [1], [3], [0, 2], [1, 3], [0, 1, 2], [0, 1, 2, 3], [2, 0], [-1, -3]];
  const kinds: Reducer[] = ['sum', 'mean', 'max', 'min'];
  for (const kind of kinds) {
    for (const axes of axesSets) {
      for (const keepdims of [false, true]) {
        it(`${kind} over [${axes}] keepdims=${keepdims}`, () => {
          const norm = [...new Set(axes.map((a) => (a < 0 ? a + x.ndim : a)))].sort();
          const expected = reduceRef(x, norm, keepdims, kind);
          const out = x[kind](axes, keepdims);
          expect(out.shape).toEqual(expected.shape);
          expectAllClose(out.data, expected.data, { rtol: 1e-12, atol: 1e-12 });
        });
      }
    }
  }

  it('no axes argument reduces everything to a 0-d tensor', () => {
    expect(x.sum().shape).toEqual([]);
    expect(x.sum().item()).toBeCloseTo(
      Array.from(x.data).reduce((s, v) => s + v, 0),
      10,
    );
    expect(x.max(undefined, true).shape).toEqual([1, 1, 1, 1]);
  });

  it('an empty axis list reduces nothing', () => {
    const out = x.sum([]);
    expect(out.shape).toEqual(x.shape);
    expectAllClose(out.data, x.data);
  });

  it('int32 sums stay int32 and exact; mean of int32 is float', () => {
    const t = tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { dtype: 'int32' },
    );
    expect(t.sum(0).dtype).toBe('int32');
    expect(Array.from(t.sum(0).data)).toEqual([5, 7, 9]);
    expect(t.mean().dtype).toBe('float32');
    expect(t.mean().item()).toBe(3.5);
  });

  it('float32 sums accumulate in float64', () => {
    // 1 + 2^24 ones: a float32 accumulator gets stuck at 2^24.
    const n = 2 ** 24 + 8;
    const data = new Float32Array(n).fill(1);
    expect(tensor(data).sum().item()).toBe(n);
  });

  it('logSumExp matches log Σ exp over any axes', () => {
    for (const axes of [[1], [0, 2], [0, 1, 2, 3]]) {
      const expected = reduceRef(x.exp(), axes, false, 'sum').data.map(Math.log);
      expectAllClose(x.logSumExp(axes).data, expected, { rtol: 1e-12, atol: 1e-12 });
    }
  });

  it('argmax and argmin along every axis and flattened', () => {
    for (let axis = 0; axis < x.ndim; axis++) {
      const outShape = x.shape.filter((_, d) => d !== axis);
      const am = argmax(x, axis);
      const an = argmin(x, axis);
      expect(am.dtype).toBe('int32');
      expect(am.shape).toEqual(outShape);
      expect(argmax(x, axis, true).shape).toEqual(x.shape.map((n, d) => (d === axis ? 1 : n)));
      for (let f = 0; f < sizeOfRef(outShape); f++) {
        const idx = unravel(f, outShape);
        const row = Array.from({ length: x.shape[axis]! }, (_, k) => {
          const full = idx.slice();
          full.splice(axis, 0, k);
          return x.data[ravel(full, x.shape)]!;
        });
        expect(am.data[f]).toBe(row.indexOf(Math.max(...row)));
        expect(an.data[f]).toBe(row.indexOf(Math.min(...row)));
      }
    }
    const flat = Array.from(x.data);
    expect(argmax(x).item()).toBe(flat.indexOf(Math.max(...flat)));
    expect(argmax(x).shape).toEqual([]);
    // keepdims over all axes keeps every axis as a 1, as NumPy does.
    expect(argmax(x, undefined, true).shape).toEqual([1, 1, 1, 1]);
    expect(argmax(x, undefined, true).item()).toBe(flat.indexOf(Math.max(...flat)));
  });

  it('empty tensors reduce to the identity, or to empty results', () => {
    const e = uniform([0, 3], 1);
    expect(e.sum().item()).toBe(0);
    expect(Array.from(e.sum(0).data)).toEqual([0, 0, 0]);
    expect(e.sum(1).shape).toEqual([0]);
    expect(e.max(1).shape).toEqual([0]);
    expect(e.min(1, true).shape).toEqual([0, 1]);
    expect(e.add(uniform([3], 2)).shape).toEqual([0, 3]);
  });

  it('argmax picks the first of tied maxima', () => {
    expect(
      Array.from(
        tensor([
          [1, 3, 3],
          [2, 2, 1],
        ]).argmax(1).data,
      ),
    ).toEqual([1, 0]);
  });

  it('argmax picks the first NaN, as PyTorch does, wherever it is', () => {
    const N = Number.NaN;
    expect(
      Array.from(
        tensor([
          [1, N, 3, N],
          [N, 5, 2, 1],
          [4, 2, 1, N],
          [-1, -3, -Infinity, -2],
        ]).argmax(1).data,
      ),
    ).toEqual([1, 0, 3, 0]);
  });
});

describe('movement kernels vs reference loops', () => {
  const x = uniform([2, 3, 4, 5], 20);
  it.each([
    [[0, 1, 2, 3]],
    [[3, 2, 1, 0]],
    [[1, 0, 3, 2]],
    [[0, 2, 3, 1]],
    [[2, 0, 1, 3]],
    [[-1, 0, 1, 2]],
  ])('permute %j', (axes) => {
    const norm = axes.map((a) => (a < 0 ? a + 4 : a));
    const out = x.permute(axes);
    expect(out.shape).toEqual(norm.map((a) => x.shape[a]!));
    expectAllClose(out.data, permuteRef(x, norm));
  });

  it('transpose swaps any two axes', () => {
    const out = x.transpose(1, 3);
    expect(out.shape).toEqual([2, 5, 4, 3]);
    expectAllClose(out.data, permuteRef(x, [0, 3, 2, 1]));
    expectAllClose(x.T.data, permuteRef(x, [0, 1, 3, 2]));
  });

  it.each([
    [
      [0, 0, 0, 0],
      [2, 3, 4, 5],
    ],
    [
      [1, 0, 0, 0],
      [2, 3, 4, 5],
    ],
    [
      [0, 1, 2, 3],
      [2, 3, 4, 5],
    ],
    [
      [1, 2, 1, 1],
      [2, 3, 3, 4],
    ],
    [
      [0, 0, 0, 4],
      [2, 3, 4, 5],
    ],
    [
      [0, 1, 0, 0],
      [1, 2, 4, 5],
    ],
  ])('slice from %j to %j', (begin, end) => {
    const out = x.slice(begin, end);
    expect(out.shape).toEqual(end.map((e, d) => e - begin[d]!));
    expectAllClose(out.data, sliceRef(x, begin, end));
  });

  it('slice takes missing axes whole, counts negative bounds from the end and clamps', () => {
    expectAllClose(x.slice([1]).data, sliceRef(x, [1, 0, 0, 0], [2, 3, 4, 5]));
    expectAllClose(x.slice([0, -2], [2, -1]).data, sliceRef(x, [0, 1, 0, 0], [2, 2, 4, 5]));
    expectAllClose(
      x.slice([0, 0, 0, 3], [9, 9, 9, 99]).data,
      sliceRef(x, [0, 0, 0, 3], [2, 3, 4, 5]),
    );
    expect(x.slice([0, 2], [2, 1]).shape).toEqual([2, 0, 4, 5]);
  });

  it('narrow is a slice along one axis', () => {
    expectAllClose(x.narrow(2, 1, 2).data, sliceRef(x, [0, 0, 1, 0], [2, 3, 3, 5]));
    expectAllClose(x.narrow(-1, 4, 1).data, sliceRef(x, [0, 0, 0, 4], [2, 3, 4, 5]));
  });

  it.each([0, 1, 2, 3, -1])('concat along axis %i', (axis) => {
    const a = axis < 0 ? axis + 4 : axis;
    const parts = [1, 2, 3].map((n, k) =>
      uniform(
        x.shape.map((d, i) => (i === a ? n : d)),
        30 + k,
      ),
    );
    const out = concat(parts, axis);
    expect(out.shape).toEqual(x.shape.map((d, i) => (i === a ? 6 : d)));
    expectAllClose(out.data, concatRef(parts, a));
  });

  it('stack inserts a new axis', () => {
    const parts = [uniform([2, 3], 40), uniform([2, 3], 41)];
    for (const axis of [0, 1, 2, -1]) {
      const a = axis < 0 ? axis + 3 : axis;
      const out = stack(parts, axis);
      const expected = concatRef(
        parts.map((p) => p.expandDims(a)),
        a,
      );
      expect(out.shape).toEqual([...[2, 3].slice(0, a), 2, ...[2, 3].slice(a)]);
      expectAllClose(out.data, expected);
    }
  });

  it('broadcastTo reads each element where the rule says', () => {
    const s = uniform([3, 1, 5], 50);
    const target = [2, 3, 4, 5];
    const out = s.broadcastTo(target);
    expect(out.shape).toEqual(target);
    for (let f = 0; f < out.size; f++) {
      expect(out.data[f]).toBe(s.data[broadcastIndex(unravel(f, target), s.shape)]);
    }
  });

  it('indexSelect along every axis, with repeats and multi-dimensional indices', () => {
    for (let axis = 0; axis < x.ndim; axis++) {
      const idx = indices([2, 3], x.shape[axis]!, 60 + axis);
      const out = indexSelect(x, axis, idx);
      const shape = [...x.shape.slice(0, axis), 2, 3, ...x.shape.slice(axis + 1)];
      expect(out.shape).toEqual(shape);
      for (let f = 0; f < out.size; f++) {
        const o = unravel(f, shape);
        const src = [
          ...o.slice(0, axis),
          idx.data[o[axis]! * 3 + o[axis + 1]!]!,
          ...o.slice(axis + 2),
        ];
        expect(out.data[f]).toBe(x.data[ravel(src, x.shape)]);
      }
    }
  });

  it('reshape shares storage and infers one -1', () => {
    const r = x.reshape([6, -1]);
    expect(r.shape).toEqual([6, 20]);
    expect(r.data).toBe(x.data);
    expect(x.expandDims(0).shape).toEqual([1, 2, 3, 4, 5]);
    expect(x.expandDims(-1).shape).toEqual([2, 3, 4, 5, 1]);
    expect(x.expandDims(2).squeeze(2).shape).toEqual(x.shape);
    expect(uniform([1, 3, 1], 1).squeeze().shape).toEqual([3]);
    expect(uniform([1, 3, 1], 1).squeeze(-1).shape).toEqual([1, 3]);
  });
});

describe('elementwise kernels vs Math', () => {
  const a = uniform([3, 1, 4], 70, 0.5, 2);
  const b = uniform([2, 1], 71, -2, 2);
  const shape = broadcastRef(a.shape, b.shape)!;
  const binaries: [string, (p: Tensor, q: Tensor) => Tensor, (p: number, q: number) => number][] = [
    ['add', (p, q) => p.add(q), (p, q) => p + q],
    ['sub', (p, q) => p.sub(q), (p, q) => p - q],
    ['mul', (p, q) => p.mul(q), (p, q) => p * q],
    ['div', (p, q) => p.div(q), (p, q) => p / q],
    ['pow', (p, q) => p.pow(q), (p, q) => p ** q],
    ['maximum', (p, q) => p.maximum(q), Math.max],
    ['minimum', (p, q) => p.minimum(q), Math.min],
    ['eq', (p, q) => p.eq(q), (p, q) => Number(p === q)],
    ['ne', (p, q) => p.ne(q), (p, q) => Number(p !== q)],
    ['lt', (p, q) => p.lt(q), (p, q) => Number(p < q)],
    ['le', (p, q) => p.le(q), (p, q) => Number(p <= q)],
    ['gt', (p, q) => p.gt(q), (p, q) => Number(p > q)],
    ['ge', (p, q) => p.ge(q), (p, q) => Number(p >= q)],
  ];
  it.each(binaries)('%s with broadcasting', (_name, op, ref) => {
    const out = op(a, b);
    expect(out.shape).toEqual(shape);
    const expected = Array.from({ length: sizeOfRef(shape) }, (_, f) => {
      const idx = unravel(f, shape);
      return ref(a.data[broadcastIndex(idx, a.shape)]!, b.data[broadcastIndex(idx, b.shape)]!);
    });
    expectAllClose(out.data, expected, { rtol: 1e-15, atol: 0 });
  });

  it('function forms keep operand order with a number on either side', () => {
    const t = tensor(new Float64Array([1, 2, 4]));
    expect(Array.from(sub(10, t).data)).toEqual([9, 8, 6]);
    expect(Array.from(sub(t, 10).data)).toEqual([-9, -8, -6]);
    expect(Array.from(div(1, t).data)).toEqual([1, 0.5, 0.25]);
    expect(Array.from(pow(2, t).data)).toEqual([2, 4, 16]);
    expect(Array.from(lt(2, t).data)).toEqual([0, 0, 1]);
  });

  it('comparisons see ties', () => {
    const p = tensor([1, 2, 3]);
    const q = tensor([3, 2, 1]);
    expect(Array.from(p.eq(q).data)).toEqual([0, 1, 0]);
    expect(Array.from(p.le(q).data)).toEqual([1, 1, 0]);
    expect(Array.from(p.ge(q).data)).toEqual([0, 1, 1]);
    expect(Array.from(p.lt(q).data)).toEqual([1, 0, 0]);
    expect(Array.from(p.gt(q).data)).toEqual([0, 0, 1]);
  });

  const x = uniform([7], 72, -3, 3);
  const unaries: [string, (p: Tensor) => Tensor, (p: number) => number][] = [
    ['neg', (p) => p.neg(), (p) => -p],
    ['exp', (p) => p.exp(), Math.exp],
    ['abs', (p) => p.abs(), Math.abs],
    ['sign', (p) => p.sign(), Math.sign],
    ['sin', (p) => p.sin(), Math.sin],
    ['cos', (p) => p.cos(), Math.cos],
    ['tanh', (p) => p.tanh(), Math.tanh],
    ['sigmoid', (p) => p.sigmoid(), (p) => 1 / (1 + Math.exp(-p))],
    ['relu', (p) => p.relu(), (p) => Math.max(p, 0)],
    ['leakyRelu', (p) => p.leakyRelu(0.2), (p) => (p > 0 ? p : 0.2 * p)],
    ['clip', (p) => p.clip(-1, 0.5), (p) => Math.min(Math.max(p, -1), 0.5)],
    ['square', (p) => p.square(), (p) => p * p],
  ];
  it.each(unaries)('%s', (_name, op, ref) => {
    expectAllClose(op(x).data, Array.from(x.data, ref), { rtol: 1e-15, atol: 1e-300 });
  });

  it('log and sqrt', () => {
    const p = x.abs();
    expectAllClose(p.log().data, Array.from(p.data, Math.log), { rtol: 1e-15, atol: 0 });
    expectAllClose(p.sqrt().data, Array.from(p.data, Math.sqrt), { rtol: 1e-15, atol: 0 });
  });

  it('where broadcasts condition and both branches', () => {
    const c = tensor([[1], [0], [1]]);
    const out = where(
      c,
      tensor([10, 20]),
      tensor([
        [-1, -2],
        [-3, -4],
        [-5, -6],
      ]),
    );
    expect(out.toArray()).toEqual([
      [10, 20],
      [-3, -4],
      [10, 20],
    ]);
    expect(where(tensor([0, 2, -1]), 1, 0).toArray()).toEqual([0, 1, 1]);
  });

  it('NaN and Infinity are values, not crashes', () => {
    const p = tensor(new Float64Array([0, -1, Number.POSITIVE_INFINITY, Number.NaN]));
    expect(Array.from(p.log().data)).toEqual([
      Number.NEGATIVE_INFINITY,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NaN,
    ]);
    expect(Array.from(tensor([1, -1, 0]).div(0).data)).toEqual([
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NaN,
    ]);
    expect(Number.isNaN(p.max().item())).toBe(true);
    expect(Number.isNaN(p.min().item())).toBe(true);
    expect(Number.isNaN(p.sum().item())).toBe(true);
    expect(Number.isNaN(tensor([1, Number.NaN]).maximum(0).data[1]!)).toBe(true);
    expect(Number.isNaN(tensor([0, 2]).maximum(Number.NaN).data[1]!)).toBe(true);
    expect(Number.isNaN(tensor([Number.NaN, 0]).minimum(1).data[0]!)).toBe(true);
    expect(tensor([Number.NEGATIVE_INFINITY, 1]).max().item()).toBe(1);
    expect(
      tensor(new Float64Array([Number.POSITIVE_INFINITY, -3]))
        .sigmoid()
        .toArray(),
    ).toEqual([1, 1 / (1 + Math.exp(3))]);
    expect(tensor([Number.NEGATIVE_INFINITY]).sigmoid().item()).toBe(0);
    expect(tensor([Number.NEGATIVE_INFINITY]).exp().item()).toBe(0);
  });
});

describe('erf', () => {
  // Reference values from CPython's math.erf (correctly rounded to within an ulp).
  const table: [number, number][] = [
    [1e-10, 1.1283791670955126e-10],
    [0.1, 0.1124629160182849],
    [0.3, 0.3286267594591274],
    [0.5, 0.5204998778130465],
    [0.84375, 0.7672256612323416],
    [1.0, 0.8427007929497149],
    [1.25, 0.9229001282564582],
    [1.5, 0.9661051464753108],
    [2.0, 0.9953222650189527],
    [2.49, 0.9995707121322661],
    [2.5, 0.999593047982555],
    [2.75, 0.9998993780778803],
    [3.0, 0.9999779095030014],
    [3.5, 0.9999992569016276],
    [4.0, 0.9999999845827421],
    [5.0, 0.9999999999984626],
    [5.5, 0.9999999999999927],
    [5.99, 1.0],
  ];

  it('matches a reference to a few ulps on both branches, and is odd', () => {
    const xs = table.flatMap(([x]) => [x, -x]);
    const want = table.flatMap(([, y]) => [y, -y]);
    const got = tensor(new Float64Array(xs)).erf();
    expectAllClose(got.data, want, { rtol: 2e-15, atol: 0 });
  });

  it('is 0 at 0 (sign kept), ±1 at ±∞ and beyond 6, NaN at NaN; float32 rounds once', () => {
    const p = tensor(new Float64Array([0, -0, 6, -30, Infinity, -Infinity, Number.NaN]));
    expect(Array.from(p.erf().data)).toEqual([0, -0, 1, -1, 1, -1, Number.NaN]);
    const f = tensor(new Float32Array([0.5, -2.75]));
    expect(Array.from(f.erf().data)).toEqual([
      Math.fround(0.5204998778130465),
      Math.fround(-0.9998993780778803),
    ]);
  });
});

describe('softmax and logSoftmax vs the composed form exp(x − logSumExp(x))', () => {
  const composedLog = (x: Tensor, axis: number) => x.sub(x.logSumExp(axis, true));
  it.each([
    ['last axis', [4, 6], -1],
    ['first axis', [4, 6], 0],
    ['middle axis of 3-D', [2, 5, 3], 1],
  ] as [string, number[], number][])('%s', (_name, shape, axis) => {
    const x = uniform(shape, 80, -5, 5);
    expectAllClose(logSoftmax(x, axis).data, composedLog(x, axis).data, {
      rtol: 1e-12,
      atol: 1e-12,
    });
    expectAllClose(softmax(x, axis).data, composedLog(x, axis).exp().data, {
      rtol: 1e-12,
      atol: 1e-15,
    });
    const sums = softmax(x, axis).sum(axis);
    expectAllClose(sums.data, new Array(sums.size).fill(1), { rtol: 1e-14, atol: 0 });
  });

  it('keeps −log n for n equal logits of any magnitude (1e16, 1e30), in float32 and float64', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const v of [1e16, 1e30, -1e30]) {
        const ls = logSoftmax(tensor([new Array(10).fill(v)], { dtype }));
        expectAllClose(ls.data, new Array(10).fill(-Math.log(10)), {
          rtol: dtype === 'float32' ? 1e-6 : 1e-14,
          atol: 0,
        });
      }
    }
  });

  it('stays finite for logits of ±1e4, in float32 and float64', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = tensor(
        [
          [1e4, -1e4, 0, 1e4 - 1],
          [-1e4, -1e4 + 2, -1e4 + 1, -1e4],
        ],
        { dtype },
      );
      const ls = logSoftmax(x);
      const s = softmax(x);
      const oracle = composedLog(x, -1);
      expect(Array.from(s.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(ls.data).every(Number.isFinite)).toBe(true);
      // In float32 the oracle itself rounds x − lse at 1e4, where one ulp is ~1e-3.
      const tol = dtype === 'float32' ? 2e-3 : 1e-9;
      expectAllClose(ls.data, oracle.data, { rtol: tol, atol: tol });
      expectAllClose(s.data, oracle.exp().data, { rtol: tol, atol: tol });
      // Exact values, row by row, from JS doubles.
      const exact = (row: number[]) => {
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
        return row.map((v) => v - lse);
      };
      const expected = [...exact([1e4, -1e4, 0, 1e4 - 1]), ...exact([0, 2, 1, 0])];
      expectAllClose(ls.data, expected, { rtol: 1e-6, atol: 1e-6 });
      expectAllClose(s.data, expected.map(Math.exp), { rtol: 1e-6, atol: 1e-7 });
      expect(x.logSumExp(-1).data[0]).toBeCloseTo(1e4 + Math.log(1 + Math.exp(-1)), 2);
    }
  });

  it('gradients stay finite for logits of ±1e4 and for −Infinity (masked) logits', () => {
    const target = tensor([[0, 1, 0, 0]]);
    const logits = tensor([[1e4, -1e4, 0, Number.NEGATIVE_INFINITY]], { requiresGrad: true });
    logSoftmax(logits).mul(target).sum().neg().backward();
    // ∂(−log pₜ)/∂x = p − onehot(t), with p = [1, 0, 0, 0] here.
    expect(Array.from(logits.grad!.data)).toEqual([1, -1, 0, 0]);
    const x = tensor([[3, Number.NEGATIVE_INFINITY, 3]], { requiresGrad: true });
    softmax(x)
      .mul(tensor([[1, 5, 0]]))
      .sum()
      .backward();
    expect(Array.from(x.grad!.data)).toEqual([0.25, 0, -0.25]);
    const y = tensor([1e4, 1e4 - Math.log(3), Number.NEGATIVE_INFINITY], { dtype: 'float64' });
    const g = grad((v: Tensor) => v.logSumExp())(y);
    expectAllClose(g.data, [0.75, 0.25, 0], { rtol: 1e-12, atol: 1e-15 });
  });

  it('a −Infinity logit gets probability 0 (masking)', () => {
    const x = tensor([[0, Number.NEGATIVE_INFINITY, 0]]);
    expect(softmax(x).toArray()).toEqual([[0.5, 0, 0.5]]);
    expect(logSoftmax(x).data[1]).toBe(Number.NEGATIVE_INFINITY);
    expect(x.logSumExp().item()).toBeCloseTo(Math.log(2), 6);
    expect(tensor([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]).logSumExp().item()).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });
});
