import { gradcheck, Rng, randn, ShapeError, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  activate,
  Dense,
  Dropout,
  Flatten,
  Identity,
  LeakyReLU,
  Linear,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
} from '../src/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
};

describe('Linear', () => {
  it('computes x·Wᵀ + b with W [out, in]: row i holds the weights into neuron i', () => {
    const layer = new Linear(3, 2, { rng: 1 });
    layer.weight.data.set([1, 2, 3, -1, 0, 1]);
    layer.bias!.data.set([0.5, -0.5]);
    const y = layer.forward(
      tensor([
        [1, 1, 1],
        [2, 0, -1],
      ]),
    );
    expect(y.shape).toEqual([2, 2]);
    // neuron 0: 1+2+3+0.5, neuron 1: -1+0+1-0.5; second sample: 2-3+0.5, -2-1-0.5
    expect(Array.from(y.data)).toEqual([6.5, -0.5, -0.5, -3.5]);
    expect(Array.from(layer.forward(tensor([1, 1, 1])).data)).toEqual([6.5, -0.5]);
  });

  it('initialises as PyTorch: weight and bias uniform in ±1/√in, same seed same values', () => {
    const layer = new Linear(400, 50, { rng: 7 });
    const bound = 1 / Math.sqrt(400);
    for (const p of [layer.weight, layer.bias!]) {
      const values = Array.from(p.data);
      expect(Math.max(...values)).toBeLessThanOrEqual(bound);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(-bound);
    }
    const w = Array.from(layer.weight.data);
    // 20,000 draws fill the interval: the extremes come within 1% of the bound.
    expect(Math.max(...w)).toBeGreaterThan(0.99 * bound);
    expect(Math.min(...w)).toBeLessThan(-0.99 * bound);
    const variance = w.reduce((s, v) => s + v * v, 0) / w.length;
    expect(variance).toBeCloseTo(bound ** 2 / 3, 5);
    const again = new Linear(400, 50, { rng: 7 });
    expect(again.weight.data).toEqual(layer.weight.data);
    expect(again.bias!.data).toEqual(layer.bias!.data);
    expect(new Linear(400, 50, { rng: 8 }).weight.data).not.toEqual(layer.weight.data);
  });

  it('draws from a shared Rng in order, so consecutive layers differ', () => {
    const rng = new Rng(3);
    const a = new Linear(4, 4, { rng });
    const b = new Linear(4, 4, { rng });
    expect(a.weight.data).not.toEqual(b.weight.data);
  });

  it('supports no bias and the other inits', () => {
    expect(new Linear(3, 2, { bias: false, rng: 1 }).parameters()).toHaveLength(1);
    const glorot = new Linear(30, 20, { init: 'glorot', rng: 1 });
    const bound = Math.sqrt(6 / 50);
    expect(Math.max(...Array.from(glorot.weight.data).map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Array.from(glorot.bias!.data).every((v) => v === 0)).toBe(true);
    const classic = new Linear(100, 100, { init: 'normal', rng: 1 });
    const w = Array.from(classic.weight.data);
    expect(w.reduce((s, v) => s + v * v, 0) / w.length).toBeGreaterThan(0.9);
    expect(Array.from(classic.bias!.data).some((v) => v !== 0)).toBe(true);
  });

  it('refuses an input of the wrong width, naming the layer and the shape', () => {
    const layer = new Linear(784, 16, { rng: 1 });
    expect(() => layer.forward(randn([2, 28], { rng: 1 }))).toThrow(ShapeError);
    expect(() => layer.forward(randn([2, 28], { rng: 1 }))).toThrow(
      'Linear(784 → 16): input of shape [2, 28] must end in 784 features',
    );
    expect(() => new Linear(0, 3)).toThrow('Linear: inFeatures must be a positive integer, got 0');
  });

  it('passes gradcheck for the weights, bias and input', () => {
    const layer = new Linear(3, 2, { rng: 5, dtype: 'float64' });
    const x = randn([4, 3], { rng: 6, dtype: 'float64' });
    const f = (xx: typeof x, w: typeof x, b: typeof x) =>
      xx.matmul(w, { transB: true }).add(b).tanh();
    const r = gradcheck(f, [x, layer.weight, layer.bias!]);
    expect(r.ok).toBe(true);
  });
});

describe('Dense', () => {
  it('is Linear followed by its activation and keeps the names weight and bias', () => {
    const dense = new Dense(3, 2, { activation: 'sigmoid', rng: 1 });
    const plain = new Linear(3, 2, { rng: 1 });
    const x = randn([5, 3], { rng: 2 });
    expect(dense.forward(x).data).toEqual(plain.forward(x).sigmoid().data);
    expect([...dense.namedParameters()].map(([n]) => n)).toEqual(['weight', 'bias']);
    expect(dense.toString()).toBe('Dense(3 → 2, sigmoid)');
    expect(new Dense(3, 2, { rng: 1 }).toString()).toBe('Dense(3 → 2)');
  });
});

describe('activation layers', () => {
  const x = tensor([[-2, -0.5, 0, 0.5, 3]]);
  const values = Array.from(x.data);
  it('match their closed forms', () => {
    close(
      new Sigmoid().forward(x).data,
      values.map((v) => 1 / (1 + Math.exp(-v))),
    );
    close(
      new ReLU().forward(x).data,
      values.map((v) => Math.max(0, v)),
    );
    close(new Tanh().forward(x).data, values.map(Math.tanh));
    close(
      new LeakyReLU(0.1).forward(x).data,
      values.map((v) => (v > 0 ? v : 0.1 * v)),
    );
    const z = values.reduce((s, v) => s + Math.exp(v), 0);
    close(
      new Softmax().forward(x).data,
      values.map((v) => Math.exp(v) / z),
    );
    expect(new Identity().forward(x)).toBe(x);
    close(
      activate('leakyRelu', x).data,
      values.map((v) => (v > 0 ? v : 0.01 * v)),
    );
  });
});

describe('Flatten', () => {
  it('collapses all but the batch axis', () => {
    const x = randn([2, 3, 4], { rng: 1 });
    const y = new Flatten().forward(x);
    expect(y.shape).toEqual([2, 12]);
    expect(y.data).toEqual(x.data);
    expect(new Flatten(0).forward(x).shape).toEqual([24]);
  });
});

describe('Dropout', () => {
  const x = tensor(new Float32Array(10000).fill(1), { shape: [100, 100] });

  it('zeroes about `rate` of the inputs and scales the rest by 1/(1 − rate)', () => {
    const y = new Dropout(0.3, { rng: 1 }).forward(x);
    const zeros = Array.from(y.data).filter((v) => v === 0).length;
    expect(zeros / 10000).toBeGreaterThan(0.28);
    expect(zeros / 10000).toBeLessThan(0.32);
    const kept = Array.from(y.data).filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
  });

  it('is deterministic for a seed and the identity in eval mode', () => {
    const a = new Dropout(0.5, { rng: 9 }).forward(x);
    const b = new Dropout(0.5, { rng: 9 }).forward(x);
    expect(a.data).toEqual(b.data);
    expect(new Dropout(0.5, { rng: 10 }).forward(x).data).not.toEqual(a.data);
    const drop = new Dropout(0.5, { rng: 9 }).eval();
    expect(drop.forward(x)).toBe(x);
  });

  it('passes gradients only through the kept entries', () => {
    const input = tensor([[1, 2, 3, 4, 5, 6, 7, 8]], { requiresGrad: true });
    const y = new Dropout(0.5, { rng: 3 }).forward(input);
    y.sum().backward();
    expect(Array.from(input.grad!.data)).toEqual(Array.from(y.data).map((v) => (v === 0 ? 0 : 2)));
  });

  it('refuses a rate outside [0, 1)', () => {
    expect(() => new Dropout(1)).toThrow('Dropout: rate must be in [0, 1), got 1');
  });
});

describe('Sequential', () => {
  it('applies its layers in order', () => {
    const a = new Linear(2, 3, { rng: 1 });
    const b = new Linear(3, 1, { rng: 2 });
    const net = new Sequential(a, new Tanh(), b);
    const x = randn([4, 2], { rng: 3 });
    expect(net.forward(x).data).toEqual(b.forward(a.forward(x).tanh()).data);
    expect(net.toString()).toBe(
      'Sequential(\n  (0) Linear(2 → 3)\n  (1) Tanh\n  (2) Linear(3 → 1)\n)',
    );
  });
});
