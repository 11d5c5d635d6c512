import { describe, expect, it } from 'vitest';
import {
  AnomalyError,
  detectAnomaly,
  grad,
  isAnomalyDetectionEnabled,
  type Tensor,
  tensor,
} from '../src/index.js';

describe('detectAnomaly', () => {
  it('names the first op that makes a non-finite value out of finite inputs', () => {
    const x = tensor([[1, 0, 2]]);
    expect(() => detectAnomaly(() => x.mul(2).log().sum())).toThrow(AnomalyError);
    expect(() => detectAnomaly(() => x.mul(2).log().sum())).toThrow(
      'log: produced -Infinity at flat index 1 of its [1, 3] result from finite inputs [1, 3]',
    );
    // Outside it, the same computation quietly gives −∞, as IEEE arithmetic does.
    expect(x.mul(2).log().sum().item()).toBe(Number.NEGATIVE_INFINITY);
    expect(isAnomalyDetectionEnabled()).toBe(false);
  });

  it('checks the ops of a gradient too', () => {
    // √x is finite at 0, its derivative 1/(2√x) is not: the gradient's division is named.
    const f = (t: Tensor) => t.sqrt().sum();
    const x = tensor([4, 0], { dtype: 'float64' });
    expect(grad(f)(x).toArray()).toEqual([0.25, Number.POSITIVE_INFINITY]);
    expect(() => detectAnomaly(() => grad(f)(x))).toThrow(
      /^div: produced Infinity at flat index 1/,
    );
  });

  it('blames the origin, not the ops a NaN flows through', () => {
    const nan = tensor([Number.NaN, 1]);
    expect(detectAnomaly(() => nan.mul(3).add(1).sum()).item()).toBeNaN();
    expect(detectAnomaly(() => tensor([1, 2]).exp().sum().item())).toBeCloseTo(
      Math.E + Math.E ** 2,
      5,
    );
  });
});
