import { describe, expect, it } from 'vitest';
import {
  fans,
  glorotNormal,
  glorotUniform,
  heNormal,
  heUniform,
  normal,
  uniform,
} from '../src/index.js';

const stats = (data: ArrayLike<number>) => {
  const n = data.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += data[i]!;
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (data[i]! - mean) ** 2;
  return {
    mean,
    std: Math.sqrt(variance / n),
    max: Math.max(...Array.from(data)),
    min: Math.min(...Array.from(data)),
  };
};

describe('fans', () => {
  it('follows PyTorch for dense and convolution weights', () => {
    expect(fans([16, 784])).toEqual({ fanIn: 784, fanOut: 16 });
    expect(fans([32, 3, 5, 5])).toEqual({ fanIn: 75, fanOut: 800 });
    expect(() => fans([10])).toThrow('fans: a weight needs at least 2 dimensions');
  });
});

describe('initialisers', () => {
  it('uniform and normal have the requested range and moments', () => {
    const u = stats(uniform([200, 100], { low: -2, high: 4, rng: 1 }).data);
    expect(u.min).toBeGreaterThanOrEqual(-2);
    expect(u.max).toBeLessThan(4);
    expect(u.mean).toBeCloseTo(1, 1);
    expect(u.std).toBeCloseTo(6 / Math.sqrt(12), 1);
    const g = stats(normal([200, 100], { mean: 3, std: 0.5, rng: 2 }).data);
    expect(g.mean).toBeCloseTo(3, 2);
    expect(g.std).toBeCloseTo(0.5, 2);
  });

  it('Glorot uses √(6/(in+out)) for uniform and √(2/(in+out)) for normal', () => {
    const shape = [300, 200];
    const bound = Math.sqrt(6 / 500);
    const u = stats(glorotUniform(shape, { rng: 3 }).data);
    expect(u.max).toBeLessThanOrEqual(bound);
    expect(u.max).toBeGreaterThan(0.99 * bound);
    expect(u.std).toBeCloseTo(bound / Math.sqrt(3), 3);
    const n = stats(glorotNormal(shape, { gain: 2, rng: 4 }).data);
    expect(n.std).toBeCloseTo(2 * Math.sqrt(2 / 500), 3);
  });

  it('He uses gain √(2/(1+a²)) over √fan', () => {
    const shape = [100, 400];
    expect(stats(heNormal(shape, { rng: 5 }).data).std).toBeCloseTo(Math.sqrt(2 / 400), 3);
    expect(stats(heNormal(shape, { mode: 'fanOut', rng: 5 }).data).std).toBeCloseTo(
      Math.sqrt(2 / 100),
      3,
    );
    const u = stats(heUniform(shape, { a: Math.sqrt(5), rng: 6 }).data);
    expect(u.max).toBeLessThanOrEqual(1 / 20 + 1e-9);
    expect(u.max).toBeGreaterThan(0.99 / 20);
  });

  it('is reproducible from a seed and returns parameters on request', () => {
    expect(heNormal([5, 5], { rng: 11 }).data).toEqual(heNormal([5, 5], { rng: 11 }).data);
    expect(heNormal([5, 5], { rng: 11 }).data).not.toEqual(heNormal([5, 5], { rng: 12 }).data);
    const p = glorotUniform([3, 3], { rng: 1, requiresGrad: true, dtype: 'float64' });
    expect(p.requiresGrad).toBe(true);
    expect(p.dtype).toBe('float64');
  });
});
