import { describe, expect, it } from 'vitest';
import {
  grad,
  indexSelect,
  isGradEnabled,
  noGrad,
  ones,
  sumTo,
  type Tensor,
  tensor,
  valueAndGrad,
  withGradMode,
} from '../src/index.js';
import { expectAllClose, uniform } from './support.js';

const values = (t: Tensor | null) => Array.from(t!.data);

describe('backward()', () => {
  it('fills .grad of every leaf that requires one, and only leaves', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const w = tensor([4, 5, 6], { requiresGrad: true });
    const c = tensor([1, 1, 1]);
    const h = x.mul(w);
    const loss = h.add(c).sum();
    loss.backward();
    expect(values(x.grad)).toEqual([4, 5, 6]);
    expect(values(w.grad)).toEqual([1, 2, 3]);
    expect(c.grad).toBeNull();
    expect(h.grad).toBeNull();
    expect(loss.grad).toBeNull();
    expect(x.grad!.requiresGrad).toBe(false);
    expect(x.grad!.node).toBeNull();
  });

  it('accumulates into .grad across calls, as the familiar API does', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(x).sum().backward();
    expect(values(x.grad)).toEqual([2, 4]);
    x.mul(3).sum().backward();
    expect(values(x.grad)).toEqual([5, 7]);
    // The same graph twice: its gradient is added twice.
    const y = x.sum();
    y.backward();
    y.backward();
    expect(values(x.grad)).toEqual([7, 9]);
    x.grad = null;
    x.sum().backward();
    expect(values(x.grad)).toEqual([1, 1]);
  });

  it('sums the contributions of a tensor used several times', () => {
    const x = tensor([3], { requiresGrad: true });
    const s = x.mul(x);
    s.add(s).add(x).sum().backward(); // 2x² + x → 4x + 1
    expect(values(x.grad)).toEqual([13]);
  });

  it('takes a seed gradient for a non-scalar output', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    x.mul(x).backward(
      tensor([
        [1, 0],
        [0.5, 2],
      ]),
    );
    expect(x.grad!.toArray()).toEqual([
      [2, 0],
      [3, 16],
    ]);
  });

  it('a one-element output of any shape needs no seed', () => {
    const x = tensor([[2]], { requiresGrad: true });
    x.mul(x).backward();
    expect(x.grad!.toArray()).toEqual([[4]]);
  });

  it('with createGraph, .grad is a graph that can be differentiated again', () => {
    const x = tensor(new Float64Array([2, -1]), { requiresGrad: true });
    x.pow(3).sum().backward(undefined, { createGraph: true });
    const g = x.grad!;
    expect(values(g)).toEqual([12, 3]);
    expect(g.requiresGrad).toBe(true);
    x.grad = null;
    g.sum().backward();
    expect(values(x.grad)).toEqual([12, -6]); // 6x
  });

  it('gives a leaf a gradient of its own dtype', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = tensor(new Float64Array([0.1, 0.2]));
    x.mul(y).sum().backward(); // computed in float64
    expect(x.grad!.dtype).toBe('float32');
    expectAllClose(x.grad!.data, [0.1, 0.2], { rtol: 1e-7, atol: 0 });
  });

  it('passes no gradient to integer indices', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { requiresGrad: true },
    );
    const idx = tensor([2, 0, 2], { dtype: 'int32' });
    indexSelect(x, 0, idx).sum().backward();
    expect(x.grad!.toArray()).toEqual([
      [1, 1],
      [0, 0],
      [2, 2],
    ]);
    expect(idx.grad).toBeNull();
  });

  it('handles deep graphs without overflowing the stack', () => {
    const x = tensor([1], { requiresGrad: true });
    let y: Tensor = x;
    for (let i = 0; i < 20000; i++) y = y.mul(1);
    y.sum().backward();
    expect(values(x.grad)).toEqual([1]);
  });
});

describe('noGrad, withGradMode, detach', () => {
  it('noGrad records nothing and restores the mode, even after a throw', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(isGradEnabled()).toBe(true);
    const y = noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      return x.mul(2);
    });
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
    expect(values(y)).toEqual([2, 4]);
    expect(isGradEnabled()).toBe(true);
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  it('withGradMode nests', () => {
    withGradMode(false, () => {
      expect(withGradMode(true, () => isGradEnabled())).toBe(true);
      expect(isGradEnabled()).toBe(false);
    });
  });

  it('detach shares the values and stops the gradient', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.node).toBeNull();
    expect(values(d)).toEqual([2, 4, 6]);
    const shared = x.detach();
    expect(shared.data).toBe(x.data);
    // d/dx (stop(x)·x) = stop(x) = x, not 2x.
    x.detach().mul(x).sum().backward();
    expect(values(x.grad)).toEqual([1, 2, 3]);
  });

  it('requireGrad makes a leaf with its own copy of the values', () => {
    const a = tensor([1, 2]);
    const b = a.requireGrad();
    expect(b.requiresGrad).toBe(true);
    expect(b.data).not.toBe(a.data);
    expect(values(b)).toEqual([1, 2]);
    expect(a.requireGrad(false).requiresGrad).toBe(false);
  });
});

describe('grad and valueAndGrad', () => {
  it('returns the value and a gradient per argument, without touching .grad', () => {
    const a = uniform([2, 3], 1);
    const b = uniform([3], 2);
    const [value, [ga, gb]] = valueAndGrad((x, y) => x.mul(y).sum())(a, b);
    const expected = Array.from(a.data).reduce((s, v, i) => s + v * b.data[i % 3]!, 0);
    expect(value.item()).toBeCloseTo(expected, 12);
    expect(ga!.shape).toEqual([2, 3]);
    expectAllClose(ga!.data, [...b.data, ...b.data]);
    expectAllClose(
      gb!.data,
      [0, 1, 2].map((j) => a.data[j]! + a.data[3 + j]!),
    );
    expect(a.grad).toBeNull();
    expect(b.grad).toBeNull();
  });

  it('gives zeros for an argument the function ignores, or for a constant function', () => {
    const [, [, gb]] = valueAndGrad((x, _y) => x.sum())(ones([2]), ones([3]));
    expect(values(gb!)).toEqual([0, 0, 0]);
    const [v, [gc]] = valueAndGrad((_x) => tensor(5))(ones([2]));
    expect(v.item()).toBe(5);
    expect(values(gc!)).toEqual([0, 0]);
  });

  it('gradients of plain arguments are plain values; of arguments in a graph, graphs', () => {
    const g1 = grad((x: Tensor) => x.square().sum())(tensor([3]));
    expect(g1.requiresGrad).toBe(false);
    expect(g1.node).toBeNull();
    const x = tensor([3], { requiresGrad: true });
    const g2 = grad((v: Tensor) => v.square().sum())(x);
    expect(g2.requiresGrad).toBe(true);
    g2.sum().backward();
    expect(values(x.grad)).toEqual([2]);
  });

  it('a multi-argument grad returns an array', () => {
    const g = grad((x: Tensor, y: Tensor) => x.mul(y).sum())(tensor([2]), tensor([5]));
    expect(Array.isArray(g)).toBe(true);
    expect((g as Tensor[]).map((t) => t.item())).toEqual([5, 2]);
  });

  it('works on a non-leaf argument, keeping its gradient', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3);
    const g = grad((v: Tensor) => v.square().sum())(h);
    expect(values(g)).toEqual([6, 12]);
  });

  it('works inside noGrad, computing first-order gradients', () => {
    const g = noGrad(() => grad((x: Tensor) => x.exp().sum())(tensor(new Float64Array([0, 1]))));
    expectAllClose(g.data, [1, Math.E]);
  });
});

describe('sumTo', () => {
  it('sums broadcast axes back to the target shape', () => {
    const g = uniform([2, 3, 4], 3);
    const s = sumTo(g, [3, 1]);
    expect(s.shape).toEqual([3, 1]);
    const expected = [0, 1, 2].map((j) => {
      let acc = 0;
      for (let i = 0; i < 2; i++) for (let k = 0; k < 4; k++) acc += g.data[i * 12 + j * 4 + k]!;
      return acc;
    });
    expectAllClose(s.data, expected);
    expect(sumTo(g, [2, 3, 4])).toBe(g);
    expect(sumTo(g, []).item()).toBeCloseTo(
      Array.from(g.data).reduce((a, v) => a + v, 0),
      12,
    );
  });
});
