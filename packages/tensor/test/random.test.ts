import { describe, expect, it } from 'vitest';
import {
  categorical,
  compile,
  DTypeError,
  multinomial,
  NeuriteError,
  Rng,
  ShapeError,
  type Tensor,
  tensor,
} from '../src/index.js';

/** Pearson's χ² of observed counts against expected probabilities. */
function chiSquare(counts: number[], probs: number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  return counts.reduce((s, c, i) => s + (c - n * probs[i]!) ** 2 / (n * probs[i]!), 0);
}

function countsOf(t: Tensor, k: number): number[] {
  const counts = new Array<number>(k).fill(0);
  for (const v of t.data) counts[v]! += 1;
  return counts;
}

// χ² critical values at p = 1e-4 (a fair sampler fails one in 10,000 seeds).
const CHI2_1E4 = { 2: 18.42, 3: 21.11, 5: 25.74 } as const;

describe('multinomial', () => {
  it('draws categories in proportion to their weights (χ², fixed seed)', () => {
    const weights = [1, 6, 0, 3]; // unnormalised; category 2 never
    const draws = multinomial(tensor(weights), 50_000, { replacement: true, rng: new Rng(7) });
    expect(draws.dtype).toBe('int32');
    expect(draws.shape).toEqual([50_000]);
    const counts = countsOf(draws, 4);
    expect(counts[2]).toBe(0);
    const kept = [counts[0]!, counts[1]!, counts[3]!];
    expect(chiSquare(kept, [0.1, 0.6, 0.3])).toBeLessThan(CHI2_1E4[2]);
  });

  it('without replacement: distinct draws, ordered pairs with probability p_a · p_b / (1 − p_a)', () => {
    const p = [0.5, 0.3, 0.2];
    const rows = 30_000;
    const probs = tensor(Array.from({ length: rows }, () => p));
    const draws = multinomial(probs, 2, { rng: new Rng(3) });
    expect(draws.shape).toEqual([rows, 2]);
    const pairs = [
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 2],
      [2, 0],
      [2, 1],
    ];
    const counts = new Array<number>(6).fill(0);
    for (let r = 0; r < rows; r++) {
      const a = draws.data[2 * r]!;
      const b = draws.data[2 * r + 1]!;
      expect(a).not.toBe(b);
      counts[pairs.findIndex(([x, y]) => x === a && y === b)]! += 1;
    }
    const expected = pairs.map(([a, b]) => (p[a!]! * p[b!]!) / (1 - p[a!]!));
    expect(chiSquare(counts, expected)).toBeLessThan(CHI2_1E4[5]);
    // Every category of positive weight, once each, when all are drawn.
    const all = multinomial(tensor([0.2, 0.5, 0.3]), 3, { rng: new Rng(1) });
    expect([...all.data].sort()).toEqual([0, 1, 2]);
  });

  it('the same seed gives the same draws, eager or compiled; each replay draws afresh', () => {
    const probs = tensor([
      [0.25, 0.25, 0.5],
      [0.9, 0.05, 0.05],
    ]);
    const eagerRng = new Rng(11);
    const eager = [0, 1, 2].map(() =>
      Array.from(multinomial(probs, 4, { replacement: true, rng: eagerRng }).data),
    );
    const compiledRng = new Rng(11);
    const step = compile((p: Tensor) => multinomial(p, 4, { replacement: true, rng: compiledRng }));
    const compiled = [0, 1, 2].map(() => Array.from(step(probs).data));
    expect(compiled).toEqual(eager);
    expect(eager[0]).not.toEqual(eager[1]);
  });

  it('refuses weights that cannot be drawn from, naming the row and the category', () => {
    expect(() => multinomial(tensor([0.5, -0.1]), 1, { rng: new Rng(0) })).toThrow(
      'multinomial: probs [2] has -0.10000000149011612 at row 0, category 1; weights must be finite and ≥ 0',
    );
    expect(() =>
      multinomial(
        tensor([
          [1, 0],
          [0, 0],
        ]),
        1,
        { rng: new Rng(0) },
      ),
    ).toThrow(/row 1 of probs \[2, 2\] has 0 categories of positive weight/);
    expect(() => multinomial(tensor([1, 1, 0]), 3, { rng: new Rng(0) })).toThrow(NeuriteError);
    expect(() => multinomial(tensor([1, 1]), 3, { rng: new Rng(0) })).toThrow(ShapeError);
    expect(() => multinomial(tensor([1, 1], { dtype: 'int32' }), 1, { rng: new Rng(0) })).toThrow(
      DTypeError,
    );
    expect(() => multinomial(tensor([1, 1]), 0, { rng: new Rng(0) })).toThrow(
      'multinomial: numSamples must be a positive integer, got 0',
    );
  });
});

describe('categorical', () => {
  it('draws from the softmax of the logits, one per row (χ², fixed seed)', () => {
    const p = [0.1, 0.2, 0.7];
    const logits = tensor(Array.from({ length: 20_000 }, () => p.map(Math.log)));
    const draws = categorical(logits, { rng: new Rng(5) });
    expect(draws.shape).toEqual([20_000]);
    expect(chiSquare(countsOf(draws, 3), p)).toBeLessThan(CHI2_1E4[2]);
    expect(categorical(tensor([0, 0]), { rng: new Rng(1), numSamples: 3 }).shape).toEqual([3]);
    // Logits far apart: the largest always wins, with no overflow.
    expect(Array.from(categorical(tensor([[1e4, 0, -1e4]]), { rng: new Rng(2) }).data)).toEqual([
      0,
    ]);
  });
});
