import {
  AxisError,
  DTypeError,
  gradcheck,
  randn,
  ShapeError,
  type Tensor,
  tensor,
} from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { activate, ELU, Embedding, Flatten, GELU, Reshape, SiLU, Softplus } from '../src/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
};
const f64 = (values: number[]) => tensor(new Float64Array(values));

describe('activations', () => {
  const xs = [-30, -4, -1.5, -0.3, 0, 0.2, 1, 2.5, 25];
  const x = f64(xs);
  const sig = (v: number) => 1 / (1 + Math.exp(-v));

  it('GELU tanh approximation, SiLU, ELU and Softplus match their formulas', () => {
    close(
      new GELU({ approximate: 'tanh' }).forward(x).data,
      xs.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)))),
    );
    close(
      new SiLU().forward(x).data,
      xs.map((v) => v * sig(v)),
    );
    close(
      new ELU(0.7).forward(x).data,
      xs.map((v) => (v > 0 ? v : 0.7 * Math.expm1(v))),
    );
    close(
      new Softplus({ beta: 2, threshold: 10 }).forward(x).data,
      xs.map((v) => (2 * v > 10 ? v : Math.log1p(Math.exp(2 * v)) / 2)),
    );
    expect(activate('softplus', f64([100])).item()).toBe(100);
  });

  it('exact GELU is x·Φ(x): values at known points', () => {
    // Φ(1) = 0.8413447460685429, Φ(−1) = 0.15865525393145707 (CPython's 0.5·erfc(∓1/√2)).
    close(new GELU().forward(f64([1, -1, 0])).data, [0.8413447460685429, -0.15865525393145707, 0]);
  });

  it('gradients pass gradcheck, and are finite where the unused branch would overflow', () => {
    const layers = [
      new GELU(),
      new GELU({ approximate: 'tanh' }),
      new SiLU(),
      new ELU(),
      new Softplus({ beta: 0.5 }),
    ];
    const inputs = f64([-3.1, -1.2, -0.4, 0.35, 0.9, 2.2]);
    for (const layer of layers) {
      expect(gradcheck((a) => layer.forward(a!).sum(), [inputs]).ok).toBe(true);
    }
    const big = f64([800, -800]).requireGrad();
    new ELU().forward(big).add(new Softplus().forward(big)).sum().backward();
    expect(Array.from(big.grad!.data).every(Number.isFinite)).toBe(true);
  });

  it('refuses bad settings', () => {
    expect(() => new GELU({ approximate: 'fast' as 'tanh' })).toThrow(
      /approximate must be 'none' or 'tanh'/,
    );
    expect(() => new Softplus({ beta: 0 })).toThrow(RangeError);
  });
});

describe('Embedding', () => {
  it('looks up rows for int32 indices of any shape, drawn from N(0, 1)', () => {
    const e = new Embedding(5, 3, { rng: 1, dtype: 'float64' });
    const idx = tensor(
      [
        [4, 0],
        [2, 2],
      ],
      { dtype: 'int32' },
    );
    const y = e.forward(idx);
    expect(y.shape).toEqual([2, 2, 3]);
    const row = (i: number) => Array.from(e.weight.data.subarray(i * 3, i * 3 + 3));
    expect(Array.from(y.data)).toEqual([...row(4), ...row(0), ...row(2), ...row(2)]);
    expect(e.weight.shape).toEqual([5, 3]);
    const big = new Embedding(200, 50, { rng: 2 });
    const values = Array.from(big.weight.data);
    const mean = values.reduce((a, b) => a + b) / values.length;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it('sums gradients into the looked-up rows; the padding row starts at zero and gets none', () => {
    const e = new Embedding(4, 2, { paddingIdx: -1, rng: 3 });
    expect(e.paddingIdx).toBe(3);
    expect(Array.from(e.weight.data.subarray(6))).toEqual([0, 0]);
    e.weight.data.set([7, 7], 6);
    const y = e.forward(tensor([1, 3, 1, 3], { dtype: 'int32' }));
    expect(Array.from(y.data.subarray(2, 4))).toEqual([7, 7]);
    y.sum().backward();
    expect(Array.from(e.weight.grad!.data)).toEqual([0, 0, 2, 2, 0, 0, 0, 0]);
  });

  it('refuses float indices, indices out of range and a bad padding index', () => {
    const e = new Embedding(4, 2, { rng: 1 });
    expect(() => e.forward(tensor([1, 2]))).toThrow(DTypeError);
    expect(() => e.forward(tensor([1, 4], { dtype: 'int32' }))).toThrow(/4/);
    expect(() => new Embedding(4, 2, { paddingIdx: 4 })).toThrow(
      /paddingIdx must be an integer in \[-4, 4\)/,
    );
  });
});

describe('Flatten and Reshape', () => {
  const x = randn([2, 3, 4, 5], { rng: 1 });
  it('Flatten collapses startDim…endDim as PyTorch (defaults 1, −1)', () => {
    expect(new Flatten().forward(x).shape).toEqual([2, 60]);
    expect(new Flatten(0).forward(x).shape).toEqual([120]);
    expect(new Flatten(1, 2).forward(x).shape).toEqual([2, 12, 5]);
    expect(new Flatten(-2).forward(x).shape).toEqual([2, 3, 20]);
    expect(new Flatten(2, 2).forward(x).shape).toEqual([2, 3, 4, 5]);
    expect(() => new Flatten(4).forward(x)).toThrow(AxisError);
    expect(() => new Flatten(2, 1).forward(x)).toThrow(/startDim 2 comes after endDim 1/);
  });

  it('Reshape reshapes each sample, inferring one −1', () => {
    const flat = randn([2, 12], { rng: 2 });
    const y: Tensor = new Reshape([3, -1]).forward(flat);
    expect(y.shape).toEqual([2, 3, 4]);
    expect(y.data).toEqual(flat.data);
    expect(() => new Reshape([5, -1]).forward(flat)).toThrow(ShapeError);
    expect(() => new Reshape([5, -1]).forward(flat)).toThrow(
      'Reshape: a sample of shape [12] (12 elements) cannot be reshaped to [5, -1]',
    );
    expect(() => new Reshape([-1, -1])).toThrow(/at most one -1/);
  });
});
