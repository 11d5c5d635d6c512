import { describe, expect, it } from 'vitest';
import {
  arange,
  concat,
  type DType,
  eye,
  full,
  grad,
  linspace,
  matmul,
  oneHot,
  ones,
  onesLike,
  Rng,
  rand,
  randint,
  randn,
  ShapeError,
  stack,
  type Tensor,
  tensor,
  where,
  zeros,
  zerosLike,
} from '../src/index.js';

describe('tensor()', () => {
  it('infers shape from nested arrays, row-major, float32 by default', () => {
    const t = tensor([
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [7, 8],
        [9, 10],
        [11, 12],
      ],
    ]);
    expect(t.shape).toEqual([2, 3, 2]);
    expect(t.dtype).toBe('float32');
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(t.ndim).toBe(3);
    expect(t.size).toBe(12);
    expect(t.toArray()).toEqual([
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [7, 8],
        [9, 10],
        [11, 12],
      ],
    ]);
  });

  it('makes a 0-d tensor from a number and an empty one from []', () => {
    const s = tensor(2.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(2.5);
    expect(s.toArray()).toBe(2.5);
    const e = tensor([]);
    expect(e.shape).toEqual([0]);
    expect(e.size).toBe(0);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
  });

  it('honours dtype and requiresGrad options', () => {
    const t = tensor([1.7, -2.7], { dtype: 'int32', requiresGrad: false });
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.data)).toEqual([1, -2]);
    const d = tensor([[0.1]], { dtype: 'float64', requiresGrad: true });
    expect(d.data).toBeInstanceOf(Float64Array);
    expect(d.data[0]).toBe(0.1);
    expect(d.requiresGrad).toBe(true);
  });

  it('uses a typed array of the matching dtype as storage, without copying', () => {
    const f64 = new Float64Array([1, 2, 3, 4, 5, 6]);
    const t = tensor(f64, { shape: [2, 3] });
    expect(t.dtype).toBe('float64');
    expect(t.data).toBe(f64);
    expect(t.shape).toEqual([2, 3]);
    const i32 = new Int32Array([3, 1]);
    expect(tensor(i32).dtype).toBe('int32');
    expect(tensor(i32).data).toBe(i32);
    expect(tensor(new Float32Array(4)).shape).toEqual([4]);
  });

  it('copies and converts a typed array of another dtype', () => {
    const f64 = new Float64Array([1.5, 2.5]);
    const t = tensor(f64, { dtype: 'float32' });
    expect(t.data).not.toBe(f64);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([1.5, 2.5]);
    const i32 = tensor(new Int32Array([0, 128, -255]), { dtype: 'float64' });
    expect(i32.data).toBeInstanceOf(Float64Array);
    expect(Array.from(i32.data)).toEqual([0, 128, -255]);
  });

  it('reshapes nested arrays to an explicit shape of the same size', () => {
    expect(
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { shape: [4] },
      ).toArray(),
    ).toEqual([1, 2, 3, 4]);
    expect(() =>
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { shape: [2] },
      ),
    ).toThrow(ShapeError);
    expect(() =>
      tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { shape: [2] },
      ),
    ).toThrow('[2, 2]');
    expect(() => tensor([[1, 2], [3]], { shape: [3] })).toThrow('ragged');
  });

  it('takes a flat array with an explicit shape', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] });
    expect(t.toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });
});

describe('constructors', () => {
  it('zeros, ones, full, zerosLike, onesLike', () => {
    expect(Array.from(zeros([2, 2]).data)).toEqual([0, 0, 0, 0]);
    expect(ones([3], { dtype: 'int32' }).dtype).toBe('int32');
    expect(Array.from(full([2], 7.5).data)).toEqual([7.5, 7.5]);
    const like = tensor(new Float64Array([1, 2, 3]), { shape: [1, 3] });
    expect(zerosLike(like).shape).toEqual([1, 3]);
    expect(zerosLike(like).dtype).toBe('float64');
    expect(Array.from(onesLike(like).data)).toEqual([1, 1, 1]);
    expect(ones([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  it('arange is int32 for integer bounds and steps, float otherwise', () => {
    expect(Array.from(arange(5).data)).toEqual([0, 1, 2, 3, 4]);
    expect(arange(5).dtype).toBe('int32');
    expect(Array.from(arange(2, 8, 3).data)).toEqual([2, 5]);
    expect(Array.from(arange(5, 0, -2).data)).toEqual([5, 3, 1]);
    expect(arange(3, 1).size).toBe(0);
    const f = arange(0, 1, 0.25);
    expect(f.dtype).toBe('float32');
    expect(Array.from(f.data)).toEqual([0, 0.25, 0.5, 0.75]);
  });

  it('linspace includes both ends', () => {
    expect(Array.from(linspace(0, 1, 5).data)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(linspace(3, 3, 1).data)).toEqual([3]);
  });

  it('eye is the identity', () => {
    expect(eye(3).toArray()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const m = tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(matmul(m, eye(3)).toArray()).toEqual(m.toArray());
  });

  it('oneHot puts a 1 at each label', () => {
    const labels = tensor([2, 0, 1, 2], { dtype: 'int32' });
    const h = oneHot(labels, 3);
    expect(h.dtype).toBe('float32');
    expect(h.toArray()).toEqual([
      [0, 0, 1],
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(oneHot(labels, 4, 'float64').shape).toEqual([4, 4]);
    expect(oneHot(tensor([[1], [0]], { dtype: 'int32' }), 2).shape).toEqual([2, 1, 2]);
  });

  it('stack and concat of one tensor', () => {
    const a = tensor([1, 2]);
    expect(concat([a]).toArray()).toEqual([1, 2]);
    expect(stack([a]).shape).toEqual([1, 2]);
  });
});

describe('dtype promotion: int32 < float32 < float64, as NumPy', () => {
  const of = (dtype: DType) => tensor([1, 2], { dtype });
  const table: [DType, DType, DType][] = [
    ['int32', 'int32', 'int32'],
    ['int32', 'float32', 'float32'],
    ['float32', 'int32', 'float32'],
    ['int32', 'float64', 'float64'],
    ['float32', 'float64', 'float64'],
    ['float64', 'float32', 'float64'],
    ['float32', 'float32', 'float32'],
  ];
  it.each(table)('%s with %s → %s for arithmetic, comparisons, where, concat', (a, b, out) => {
    const x = of(a);
    const y = of(b);
    for (const t of [x.add(y), x.sub(y), x.mul(y), x.maximum(y), x.minimum(y), x.eq(y), x.lt(y)]) {
      expect(t.dtype).toBe(out);
    }
    expect(where(tensor([1, 0]), x, y).dtype).toBe(out);
    expect(concat([x, y]).dtype).toBe(out);
    expect(Array.from(concat([x, y]).data)).toEqual([1, 2, 1, 2]);
  });

  it('division, pow and transcendental functions of int32 give float32', () => {
    const i = of('int32');
    expect(i.div(of('int32')).dtype).toBe('float32');
    expect(Array.from(tensor([1, 3], { dtype: 'int32' }).div(2).data)).toEqual([0.5, 1.5]);
    expect(i.pow(2).dtype).toBe('float32');
    for (const t of [i.exp(), i.log(), i.sqrt(), i.sin(), i.cos(), i.tanh(), i.sigmoid()]) {
      expect(t.dtype).toBe('float32');
    }
    expect(i.div(of('float64')).dtype).toBe('float64');
  });

  it('sign-preserving ops keep int32', () => {
    const i = tensor([-2, 3], { dtype: 'int32' });
    for (const t of [i.neg(), i.abs(), i.relu(), i.sign()]) expect(t.dtype).toBe('int32');
    expect(Array.from(i.abs().data)).toEqual([2, 3]);
  });

  it('a plain number takes the tensor’s dtype, or float32 if it is fractional and the tensor int32', () => {
    expect(of('int32').add(2).dtype).toBe('int32');
    expect(of('int32').add(0.5).dtype).toBe('float32');
    expect(Array.from(of('int32').add(0.5).data)).toEqual([1.5, 2.5]);
    expect(of('float32').mul(3).dtype).toBe('float32');
    expect(of('float64').mul(0.1).dtype).toBe('float64');
    expect(of('float64').mul(0.1).data[0]).toBe(0.1);
  });

  it('reductions keep the dtype, mean of int32 is float32, argmax is int32', () => {
    expect(of('float64').sum().dtype).toBe('float64');
    expect(of('int32').max().dtype).toBe('int32');
    expect(of('int32').mean().dtype).toBe('float32');
    expect(of('float32').argmax().dtype).toBe('int32');
  });

  it('matmul promotes float32 with float64', () => {
    const a = tensor([[1, 2]]);
    const b = tensor(new Float64Array([0.1, 0.2]), { shape: [2, 1] });
    const out = matmul(a, b);
    expect(out.dtype).toBe('float64');
    expect(out.item()).toBeCloseTo(0.5, 15);
  });

  it('cast converts, truncating floats toward zero for int32', () => {
    const f = tensor([1.9, -1.9, 0.5]);
    expect(Array.from(f.cast('int32').data)).toEqual([1, -1, 0]);
    expect(f.cast('float32')).toBe(f);
    expect(f.cast('float64').dtype).toBe('float64');
    expect(grad((x: Tensor) => x.cast('float64').mul(2).sum())(f).dtype).toBe('float32');
  });
});

describe('Rng', () => {
  const take = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.uint32());

  it('the same seed gives the same stream; different seeds differ', () => {
    expect(take(new Rng(42), 100)).toEqual(take(new Rng(42), 100));
    expect(take(new Rng(42), 100)).not.toEqual(take(new Rng(43), 100));
    const r = new Rng(7);
    const v = [r.float(), r.normal(), r.normal(), r.int(10)];
    const s = new Rng(7);
    expect([s.float(), s.normal(), s.normal(), s.int(10)]).toEqual(v);
  });

  it('is xoshiro128**: matches an independent implementation from the published algorithm', () => {
    // Reference written with BigInt, 32-bit words masked explicitly.
    const M = 0xffffffffn;
    const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
    const state = [0x12345678n, 0x9abcdef0n, 0x0fedcba9n, 0x87654321n];
    const next = () => {
      const [s0, s1, s2, s3] = state as [bigint, bigint, bigint, bigint];
      const result = (rotl((s1 * 5n) & M, 7n) * 9n) & M;
      const t = (s1 << 9n) & M;
      const n2 = s2 ^ s0;
      const n3 = s3 ^ s1;
      const n1 = s1 ^ n2;
      const n0 = s0 ^ n3;
      state.splice(0, 4, n0, n1, n2 ^ t, rotl(n3, 11n));
      return Number(result);
    };
    const rng = new Rng(0);
    rng.setState([0x12345678, 0x9abcdef0, 0x0fedcba9, 0x87654321]);
    const expected = Array.from({ length: 1000 }, next);
    expect(take(rng, 1000)).toEqual(expected);
  });

  it('state() and setState() resume a stream', () => {
    const a = new Rng(3);
    take(a, 17);
    const saved = a.state();
    const rest = take(a, 50);
    const b = new Rng(999);
    b.setState(saved);
    expect(take(b, 50)).toEqual(rest);
  });

  const n = 200_000;
  const moments = (xs: number[]) => {
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const m = (p: number) => xs.reduce((s, v) => s + (v - mean) ** p, 0) / xs.length;
    const variance = m(2);
    return { mean, variance, skew: m(3) / variance ** 1.5, kurtosis: m(4) / variance ** 2 };
  };

  it('float() is uniform on [0, 1): mean 1/2, variance 1/12', () => {
    const rng = new Rng(11);
    const xs = Array.from({ length: n }, () => rng.float());
    expect(xs.every((v) => v >= 0 && v < 1)).toBe(true);
    const m = moments(xs);
    // Tolerances are about five standard errors.
    expect(Math.abs(m.mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(m.variance - 1 / 12)).toBeLessThan(0.001);
    expect(Math.abs(m.skew)).toBeLessThan(0.03);
    expect(Math.abs(m.kurtosis - 1.8)).toBeLessThan(0.02);
  });

  it('normal() is standard normal: mean 0, variance 1, skew 0, kurtosis 3', () => {
    const rng = new Rng(12);
    const xs = Array.from({ length: n }, () => rng.normal());
    const m = moments(xs);
    expect(Math.abs(m.mean)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(m.variance - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(m.skew)).toBeLessThan(5 * Math.sqrt(6 / n));
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(5 * Math.sqrt(24 / n));
    // About 68.3% within one standard deviation.
    const within = xs.filter((v) => Math.abs(v) < 1).length / n;
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.005);
  });

  it('int(k) hits every value about equally often (chi-square)', () => {
    const rng = new Rng(13);
    const k = 10;
    const counts = new Array<number>(k).fill(0);
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.int(k);
      if (Number.isInteger(v) && v >= 0 && v < k) counts[v]!++;
      else outside++;
    }
    expect(outside).toBe(0);
    const e = n / k;
    const chi2 = counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
    // 9 degrees of freedom: P(χ² > 27.9) = 0.001.
    expect(chi2).toBeLessThan(27.9);
  });

  it('shuffle is a deterministic permutation', () => {
    const a = new Rng(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = new Rng(5).shuffle(Array.from({ length: 50 }, (_, i) => i));
    expect(a).toEqual(b);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('randn, rand and randint are reproducible from a seed or a shared generator', () => {
    expect(Array.from(randn([5], { rng: 1 }).data)).toEqual(
      Array.from(randn([5], { rng: 1 }).data),
    );
    expect(Array.from(rand([5], { rng: 1 }).data)).not.toEqual(
      Array.from(rand([5], { rng: 2 }).data),
    );
    const shared = new Rng(4);
    const first = randn([3], { rng: shared });
    const second = randn([3], { rng: shared });
    expect(Array.from(first.data)).not.toEqual(Array.from(second.data));
    const r = randint(3, 7, [1000], { rng: 9 });
    expect(r.dtype).toBe('int32');
    const vs = new Set(r.data);
    expect([...vs].sort()).toEqual([3, 4, 5, 6]);
    expect(randn([2, 2], { rng: 1, dtype: 'float64' }).dtype).toBe('float64');
  });
});
