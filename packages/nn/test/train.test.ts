import { Rng, randn, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  binaryCrossEntropyWithLogits,
  buildModel,
  Linear,
  mse,
  quadraticCost,
  SGD,
} from '../src/index.js';

const xorInputs = tensor([
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
]);
const xorTargets = tensor([[0], [1], [1], [0]]);

describe('end to end', () => {
  it('a small MLP learns XOR to 100% (ReLU, logits, Adam)', () => {
    const model = buildModel(
      {
        input: [2],
        layers: [
          { type: 'dense', units: 8, activation: 'tanh' },
          { type: 'dense', units: 1 },
        ],
      },
      { seed: 1 },
    );
    const opt = new Adam(model.parameters(), { lr: 0.05 });
    let loss = Number.POSITIVE_INFINITY;
    for (let step = 0; step < 300; step++) {
      opt.zeroGrad();
      const l = binaryCrossEntropyWithLogits(model.forward(xorInputs), xorTargets);
      l.backward();
      opt.step();
      loss = l.item();
    }
    const predicted = Array.from(model.forward(xorInputs).data).map((v) => (v > 0 ? 1 : 0));
    expect(predicted).toEqual([0, 1, 1, 0]);
    expect(loss).toBeLessThan(0.05);
  });

  it('the classic recipe learns XOR too (sigmoid, quadratic cost, SGD with momentum)', () => {
    const model = buildModel(
      {
        input: [2],
        layers: [
          { type: 'dense', units: 4, activation: 'sigmoid', init: 'normal' },
          { type: 'dense', units: 1, activation: 'sigmoid', init: 'normal' },
        ],
      },
      { seed: 2 },
    );
    const opt = new SGD(model.parameters(), { lr: 2, momentum: 0.9 });
    for (let step = 0; step < 400; step++) {
      opt.zeroGrad();
      quadraticCost(model.forward(xorInputs), xorTargets).backward();
      opt.step();
    }
    const out = Array.from(model.forward(xorInputs).data);
    expect(out.map((v) => (v > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  it('a linear model recovers known weights from noisy data (the least-squares solution)', () => {
    const trueW = [2, -3, 0.5];
    const trueB = 1;
    const n = 200;
    const x = randn([n, 3], { rng: 11, dtype: 'float64' });
    const noise = new Rng(12);
    const y = tensor(
      Array.from({ length: n }, (_, i) => [
        trueW.reduce((s, w, j) => s + w * x.data[3 * i + j]!, trueB) + 0.1 * noise.normal(),
      ]),
      { dtype: 'float64' },
    );
    const model = new Linear(3, 1, { rng: 13, dtype: 'float64' });
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.5 });
    for (let step = 0; step < 300; step++) {
      opt.zeroGrad();
      mse(model.forward(x), y).backward();
      opt.step();
    }
    const fitted = [...Array.from(model.weight.data), model.bias!.data[0]!];
    // Within the noise of the truth …
    [...trueW, trueB].forEach((v, i) => {
      expect(Math.abs(fitted[i]! - v)).toBeLessThan(0.03);
    });
    // … and equal to the exact least-squares fit from the normal equations.
    const rows = Array.from({ length: n }, (_, i) => [
      x.data[3 * i]!,
      x.data[3 * i + 1]!,
      x.data[3 * i + 2]!,
      1,
    ]);
    const ata = [0, 1, 2, 3].map((r) =>
      [0, 1, 2, 3].map((c) => rows.reduce((s, row) => s + row[r]! * row[c]!, 0)),
    );
    const atb = [0, 1, 2, 3].map((r) => rows.reduce((s, row, i) => s + row[r]! * y.data[i]!, 0));
    const ols = solve(ata, atb);
    ols.forEach((v, i) => {
      expect(Math.abs(fitted[i]! - v)).toBeLessThan(1e-6);
    });
  });
});

/** Gaussian elimination with partial pivoting, for the 4×4 normal equations. */
function solve(a: number[][], b: number[]): number[] {
  const m = a.map((row, i) => [...row, b[i]!]);
  const n = b.length;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}
