import { compile, gradcheck, randn, ShapeError, type Tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, BatchNorm1d, BatchNorm2d, LayerNorm, Linear, Sequential } from '../src/index.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
};

/** Per-channel mean and biased variance of [N, C, ...rest] by plain loops. */
function channelStats(x: Tensor): { mean: number[]; variance: number[]; count: number } {
  const [n, c] = x.shape as [number, number];
  const inner = x.size / n / c;
  const mean = new Array<number>(c).fill(0);
  const variance = new Array<number>(c).fill(0);
  for (let k = 0; k < c; k++) {
    let s = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < inner; j++) s += x.data[(i * c + k) * inner + j]!;
    mean[k] = s / (n * inner);
    let v = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < inner; j++) v += (x.data[(i * c + k) * inner + j]! - mean[k]!) ** 2;
    variance[k] = v / (n * inner);
  }
  return { mean, variance, count: n * inner };
}

describe('BatchNorm', () => {
  it('trains on batch statistics and moves the running mean and unbiased variance by momentum', () => {
    const bn = new BatchNorm2d(3, { dtype: 'float64', momentum: 0.2 });
    bn.weight!.data.set([1, 2, 0.5]);
    bn.bias!.data.set([0, -1, 3]);
    const xs = [1, 2].map((s) => randn([4, 3, 2, 5], { rng: s, dtype: 'float64' }).mul(s).add(s));
    const rm = [0, 0, 0];
    const rv = [1, 1, 1];
    for (const x of xs) {
      const y = bn.forward(x);
      const { mean, variance, count } = channelStats(x);
      const want = Array.from(x.data, (v, i) => {
        const k = Math.floor(i / 10) % 3;
        return ((v - mean[k]!) / Math.sqrt(variance[k]! + 1e-5)) * [1, 2, 0.5][k]! + [0, -1, 3][k]!;
      });
      close(y.data, want);
      for (let k = 0; k < 3; k++) {
        rm[k] = 0.8 * rm[k]! + 0.2 * mean[k]!;
        rv[k] = 0.8 * rv[k]! + (0.2 * variance[k]! * count) / (count - 1);
      }
      close(bn.runningMean!.data, rm);
      close(bn.runningVar!.data, rv);
    }
    expect(bn.numBatchesTracked!.item()).toBe(2);

    bn.eval();
    const x = xs[0]!;
    const y = bn.forward(x);
    close(
      y.data,
      Array.from(x.data, (v, i) => {
        const k = Math.floor(i / 10) % 3;
        return ((v - rm[k]!) / Math.sqrt(rv[k]! + 1e-5)) * [1, 2, 0.5][k]! + [0, -1, 3][k]!;
      }),
    );
    expect(bn.numBatchesTracked!.item()).toBe(2);
  });

  it('momentum null keeps a cumulative average; no running stats means batch stats in eval too', () => {
    const bn = new BatchNorm1d(2, { momentum: null, dtype: 'float64', affine: false });
    const a = randn([5, 2], { rng: 3, dtype: 'float64' });
    const b = randn([5, 2], { rng: 4, dtype: 'float64' }).add(2);
    bn.forward(a);
    bn.forward(b);
    const ma = channelStats(a).mean;
    const mb = channelStats(b).mean;
    close(
      bn.runningMean!.data,
      [0, 1].map((k) => (ma[k]! + mb[k]!) / 2),
    );
    expect(bn.parameters()).toEqual([]);

    const free = new BatchNorm1d(2, { trackRunningStats: false, dtype: 'float64' });
    expect(free.buffers()).toEqual([]);
    const train = free.forward(a);
    close(free.eval().forward(a).data, train.data);
  });

  it('accepts [N, C] and [N, C, L] in 1d, [N, C, H, W] in 2d, and names the shape otherwise', () => {
    const bn = new BatchNorm1d(3);
    expect(bn.forward(randn([4, 3], { rng: 1 })).shape).toEqual([4, 3]);
    expect(bn.forward(randn([4, 3, 7], { rng: 1 })).shape).toEqual([4, 3, 7]);
    expect(() => bn.forward(randn([4, 5], { rng: 1 }))).toThrow(
      'BatchNorm1d(3): expected input of rank 2 or 3 with 3 channels on axis 1, got [4, 5]',
    );
    expect(() => new BatchNorm2d(3).forward(randn([2, 3, 4], { rng: 1 }))).toThrow(ShapeError);
    expect(() => bn.forward(randn([1, 3], { rng: 1 }))).toThrow(
      /expected more than 1 value per channel when training, got input \[1, 3\]/,
    );
    expect(bn.eval().forward(randn([1, 3], { rng: 1 })).shape).toEqual([1, 3]);
    expect(() => new BatchNorm1d(0)).toThrow(RangeError);
    expect(() => new BatchNorm1d(2, { momentum: 2 })).toThrow(/momentum must be in \[0, 1\]/);
  });

  it('gradients through batch statistics pass gradcheck, and buffers get none', () => {
    const bn = new BatchNorm1d(3, { dtype: 'float64' });
    const x = randn([5, 3], { rng: 7, dtype: 'float64' });
    const w = randn([5, 3], { rng: 8, dtype: 'float64' });
    const direct = gradcheck((a) => bn.forward(a!).mul(w).sum(), [x]);
    expect(direct.ok).toBe(true);
    bn.forward(x).mul(w).sum().backward();
    // ∂/∂weight = Σₙ x̂·w and ∂/∂bias = Σₙ w, with x̂ the normalised input.
    const { mean, variance } = channelStats(x);
    const xhat = Array.from(
      x.data,
      (v, i) => (v - mean[i % 3]!) / Math.sqrt(variance[i % 3]! + 1e-5),
    );
    const sumRows = (v: number[]) =>
      [0, 1, 2].map((k) => [0, 1, 2, 3, 4].reduce((s, n) => s + v[n * 3 + k]!, 0));
    close(bn.weight!.grad!.data, sumRows(xhat.map((v, i) => v * w.data[i]!)));
    close(bn.bias!.grad!.data, sumRows(Array.from(w.data)));
    expect(bn.runningMean!.grad).toBeNull();
  });

  it('a compiled forward replays the cumulative average (momentum null) step by step', () => {
    const eager = new BatchNorm1d(3, { momentum: null });
    const traced = new BatchNorm1d(3, { momentum: null });
    const f = compile((x: Tensor) => traced.forward(x));
    for (let i = 0; i < 3; i++) {
      const x = randn([4, 3], { rng: 30 + i });
      expect(Array.from((f(x) as Tensor).data)).toEqual(Array.from(eager.forward(x).data));
    }
    expect(Array.from(traced.runningMean!.data)).toEqual(Array.from(eager.runningMean!.data));
    expect(Array.from(traced.runningVar!.data)).toEqual(Array.from(eager.runningVar!.data));
    expect(traced.numBatchesTracked!.item()).toBe(3);
  });

  it('a compiled training step updates the running statistics with the same bits as eager', () => {
    const make = () => {
      const net = new Sequential(new Linear(4, 3, { rng: 2 }), new BatchNorm1d(3));
      const opt = new Adam(net.parameters(), { lr: 0.01 });
      const step = (x: Tensor) => {
        opt.zeroGrad();
        const loss = net.forward(x).square().mean();
        loss.backward();
        opt.step();
        return loss;
      };
      return { net, step };
    };
    const eager = make();
    const traced = make();
    const compiled = compile(traced.step);
    for (let s = 0; s < 4; s++) {
      const x = randn([6, 4], { rng: 10 + s });
      eager.step(x);
      compiled(x);
    }
    const a = eager.net.stateDict();
    const b = traced.net.stateDict();
    expect(b['1.num_batches_tracked']!.item()).toBe(4);
    for (const k of Object.keys(a)) expect(Array.from(b[k]!.data)).toEqual(Array.from(a[k]!.data));
  });
});

describe('LayerNorm', () => {
  it('normalises each sample over the last axes with the biased variance', () => {
    const ln = new LayerNorm([2, 3], { dtype: 'float64' });
    ln.weight!.data.set([1, 2, 3, 4, 5, 6]);
    ln.bias!.data.fill(0.5);
    const x = randn([4, 2, 3], { rng: 2, dtype: 'float64' });
    const y = ln.forward(x);
    const want: number[] = [];
    for (let i = 0; i < 4; i++) {
      const row = Array.from(x.data.subarray(i * 6, i * 6 + 6));
      const m = row.reduce((a, b) => a + b) / 6;
      const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 6;
      row.forEach((val, j) => {
        want.push(((val - m) / Math.sqrt(v + 1e-5)) * (j + 1) + 0.5);
      });
    }
    close(y.data, want);
    expect(ln.eval().forward(x).data).toEqual(y.data);
    expect(() => ln.forward(randn([4, 3, 2], { rng: 1 }))).toThrow(
      'LayerNorm([2, 3]): input [4, 3, 2] must end in [2, 3]',
    );
    expect(new LayerNorm(4, { elementwiseAffine: false }).parameters()).toEqual([]);
    expect(
      gradcheck(
        (a) => ln.forward(a!).mul(x).sum(),
        [randn([4, 2, 3], { rng: 9, dtype: 'float64' })],
      ).ok,
    ).toBe(true);
  });
});

describe('state dicts of normalisation layers', () => {
  it('hold PyTorch names; a BatchNorm state round-trips into a fresh layer', () => {
    const bn = new BatchNorm2d(2);
    bn.forward(randn([3, 2, 2, 2], { rng: 1 }).mul(4));
    const fresh = new BatchNorm2d(2);
    fresh.loadStateDict(bn.stateDict());
    expect(Object.keys(bn.stateDict())).toEqual([
      'weight',
      'bias',
      'running_mean',
      'running_var',
      'num_batches_tracked',
    ]);
    const x = randn([3, 2, 2, 2], { rng: 5 });
    expect(fresh.eval().forward(x).data).toEqual(bn.eval().forward(x).data);
    expect(Object.keys(new LayerNorm(3).stateDict())).toEqual(['weight', 'bias']);
  });
});
