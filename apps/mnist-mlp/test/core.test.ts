import { buildModel } from '@neurite/nn';
import { noGrad, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import type { EpochRecord } from '../src/core/history.js';
import { byteScale, layerActivations, outputsLogits, predictAll } from '../src/core/inference.js';
import { evaluate } from '../src/core/metrics.js';
import {
  curvesPicture,
  mistakesPicture,
  niceStep,
  weightColour,
  weightHeatmaps,
} from '../src/core/pictures.js';
import { carveValidation, type ImageSet } from '../src/core/split.js';
import { train } from '../src/core/train.js';
import { modelSpec } from '../src/model.js';
import { recipes } from '../src/recipes.js';
import { glyphDigits } from './fixtures.js';

function glyphSet(count: number, seed: number): ImageSet {
  const { pixels, labels } = glyphDigits(count, seed);
  return { pixels, labels: tensor(Int32Array.from(labels)), count, rows: 28, cols: 28 };
}

describe('the network spec', () => {
  it('is 784-16-16-10 with 13,002 parameters, activations by recipe', () => {
    for (const recipe of Object.values(recipes)) {
      const model = buildModel(modelSpec(recipe), { seed: 1 });
      expect(model.parameterCount()).toBe(13_002);
      expect(model.parameters().map((p) => p.shape)).toEqual([
        [16, 784],
        [16],
        [16, 16],
        [16],
        [10, 16],
        [10],
      ]);
    }
    expect(outputsLogits(modelSpec(recipes.modern))).toBe(true);
    expect(outputsLogits(modelSpec(recipes.classic))).toBe(false);
  });
});

describe('evaluate', () => {
  it('counts the confusion matrix and derives precision and recall from it', () => {
    const e = evaluate([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0], 3);
    expect(e.confusion).toEqual([
      [1, 0, 1],
      [0, 1, 0],
      [0, 1, 2],
    ]);
    expect(e.accuracy).toBeCloseTo(4 / 6);
    expect(e.precision).toEqual([1, 0.5, 2 / 3]);
    expect(e.recall).toEqual([0.5, 1, 2 / 3]);
    expect(Number.isNaN(evaluate([0], [0], 2).precision[1])).toBe(true);
    expect(() => evaluate([0, 5], [0, 1], 3)).toThrow(/example 1/);
  });
});

describe('carveValidation', () => {
  it('holds out a fixed, disjoint share of the training set', () => {
    const set = glyphSet(120, 5);
    const a = carveValidation(set, 1 / 12);
    const b = carveValidation(set, 1 / 12);
    expect(a.val?.count).toBe(10);
    expect(a.train.count).toBe(110);
    expect(Buffer.compare(Buffer.from(a.val!.pixels), Buffer.from(b.val!.pixels))).toBe(0);
    // Every image lands in exactly one part: the multisets of rows add up.
    const key = (s: ImageSet, i: number) =>
      Buffer.from(s.pixels.subarray(i * 784, (i + 1) * 784)).toString('base64');
    const all = new Map<string, number>();
    for (let i = 0; i < set.count; i++) all.set(key(set, i), (all.get(key(set, i)) ?? 0) + 1);
    for (const part of [a.train, a.val!])
      for (let i = 0; i < part.count; i++) all.set(key(part, i), all.get(key(part, i))! - 1);
    expect([...all.values()].every((v) => v === 0)).toBe(true);
    expect(carveValidation(set, 0).val).toBeNull();
  });
});

describe('inference', () => {
  it('gives per-layer activations that end in the network\u2019s own outputs', () => {
    for (const recipe of Object.values(recipes)) {
      const spec = modelSpec(recipe);
      const model = buildModel(spec, { seed: 3 });
      const set = glyphSet(4, 9);
      const input = Float32Array.from(set.pixels.subarray(784, 1568), (v) => byteScale()[v]!);
      const layers = layerActivations(model, spec, input);
      expect(layers.map((l) => l.name)).toEqual(['input', 'hidden 1', 'hidden 2', 'output']);
      expect(layers.map((l) => l.values.length)).toEqual([784, 16, 16, 10]);
      const direct = noGrad(() => model.forward(tensor(input, { shape: [1, 784] })));
      const output = layers[3]!;
      if (recipe.output === 'linear') {
        expect(Array.from(output.logits!)).toEqual(Array.from(direct.data));
        expect(output.values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      } else {
        expect(Array.from(output.values)).toEqual(Array.from(direct.data));
      }
      if (recipe.hidden === 'relu') expect(layers[1]!.values.every((v) => v >= 0)).toBe(true);
      if (recipe.hidden === 'sigmoid')
        expect(layers[1]!.values.every((v) => v > 0 && v < 1)).toBe(true);
      // predictAll agrees with the single-image path.
      const { predicted } = predictAll(model, spec, set, 3);
      const best = output.values.indexOf(Math.max(...output.values));
      expect(predicted[1]).toBe(best);
    }
  });
});

describe('the training step', () => {
  it('compiled gives the same weights as eager, bit for bit, under the recipe’s schedule and shifts', async () => {
    for (const recipe of Object.values(recipes)) {
      const spec = modelSpec(recipe);
      const data = { train: glyphSet(64, 4), val: null, test: glyphSet(10, 5) };
      const run = async (compiled: boolean) => {
        const model = buildModel(spec, { seed: 2 });
        const outcome = await train(model, spec, data, {
          recipe,
          epochs: 3,
          batch: 16,
          lr: recipe.lr,
          seed: 3,
          compiled,
        });
        return { outcome, weights: model.parameters().map((p) => Array.from(p.data)) };
      };
      const eager = await run(false);
      const compiled = await run(true);
      expect(compiled.weights).toEqual(eager.weights);
      expect(compiled.outcome.history).toEqual(eager.outcome.history);
      const losses = eager.outcome.history.map((h) => h.trainLoss);
      expect(losses[2]!).toBeLessThan(losses[0]!);
    }
  });
});

describe('train', () => {
  it('stops when asked, after the current batch, and keeps the best validation epoch', async () => {
    const recipe = recipes.modern;
    const spec = modelSpec(recipe);
    const model = buildModel(spec, { seed: 1 });
    const { train: tr, val } = carveValidation(glyphSet(240, 1), 1 / 6);
    let batches = 0;
    const outcome = await train(
      model,
      spec,
      { train: tr, val, test: glyphSet(50, 2) },
      { recipe, epochs: 5, batch: 20, lr: 0.02, seed: 1 },
      { batch: () => batches++, shouldStop: () => batches === 25 },
    );
    // 200 training images, batch 20: 10 batches an epoch; stopped in the third.
    expect(outcome.stopped).toBe(true);
    expect(outcome.samples).toBe(25 * 20);
    expect(outcome.history.map((h) => h.epoch)).toEqual([1, 2]);
    const best = outcome.history[0]!.valAccuracy! >= outcome.history[1]!.valAccuracy! ? 1 : 2;
    expect(outcome.keptEpoch).toBe(best);
    expect(outcome.testAccuracy).toBe(outcome.history[best - 1]!.testAccuracy);
  });
});

describe('weight pictures', () => {
  it('colours negative red, positive blue and zero black, scaled per neuron', () => {
    expect(weightColour(0)).toEqual([0, 0, 0]);
    const [r1, g1, b1] = weightColour(-1);
    const [r2, g2, b2] = weightColour(1);
    expect(r1).toBeGreaterThan(Math.max(g1, b1));
    expect(b2).toBeGreaterThan(Math.max(r2, g2));
    const w = new Float32Array(784);
    w[0] = -0.001; // the largest |w| of this neuron: full red, however small
    w[27] = 0.0005;
    const r = weightHeatmaps([w], { scale: 2, gap: 1 });
    expect(r.width).toBe(58);
    // The tile starts under the 16 px title line.
    const top = 16 + 1;
    expect(r.get(1, top)).toEqual(weightColour(-1));
    expect(r.get(1 + 27 * 2, top)).toEqual(weightColour(0.5));
    expect(r.get(1 + 2, top)).toEqual([0, 0, 0]);
  });

  it('ends in a colour bar from full red through black to full blue', () => {
    const neurons = Array.from({ length: 16 }, (_, n) => new Float32Array(784).fill(n - 8));
    const r = weightHeatmaps(neurons);
    // The bar lies in the last 60 rows, under the tiles.
    const bar = Array.from({ length: 60 }, (_, k) => r.height - 60 + k).filter(
      (y) => r.get(4, y).join() === weightColour(-1).join(),
    );
    expect(bar.length).toBeGreaterThanOrEqual(10);
    for (const y of bar) {
      expect(r.get(r.width - 5, y)).toEqual(weightColour(1));
      const [red, green, blue] = r.get(Math.floor(r.width / 2), y);
      expect(red + green + blue).toBeLessThan(12);
    }
  });
});

describe('curves and mistakes pictures', () => {
  it('steps ticks by round numbers', () => {
    expect(niceStep(1.07, 4)).toBe(0.5);
    expect(niceStep(59, 6)).toBe(10);
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(0.031, 4)).toBeCloseTo(0.01, 12);
  });

  const history: EpochRecord[] = Array.from({ length: 20 }, (_, i) => ({
    epoch: i + 1,
    trainLoss: 1 / (i + 1),
    trainAccuracy: 0.9 + i * 0.004,
    valAccuracy: 0.91 + i * 0.003,
    testAccuracy: 0.91 + i * 0.003,
    lr: 0.001,
  }));
  const KEPT = [150, 60, 200].join();
  const keptColumns = (r: ReturnType<typeof curvesPicture>) => {
    const columns = new Set<number>();
    for (let x = 0; x < r.width; x++) {
      for (let y = 28; y < 200; y++) if (r.get(x, y).join() === KEPT) columns.add(x);
    }
    return [...columns];
  };

  it('marks the kept epoch in each of its three panels', () => {
    expect(keptColumns(curvesPicture(history))).toEqual([]);
    const marked = keptColumns(curvesPicture(history, { keptEpoch: 15 }));
    // A dashed line per panel (the label beside it adds columns close by).
    const lines = marked.filter((x) => {
      let dashes = 0;
      const r = curvesPicture(history, { keptEpoch: 15 });
      for (let y = 28; y < 200; y++) if (r.get(x, y).join() === KEPT) dashes++;
      return dashes > 40;
    });
    expect(lines).toHaveLength(3);
    // At the same place in every panel: epoch 15 of 1–20.
    expect(lines[1]! - lines[0]!).toBe(360);
    expect(lines[2]! - lines[1]!).toBe(360);
  });

  it('explains the captions of the mistakes in a legend line', () => {
    const blank = mistakesPicture([]);
    let ink = 0;
    for (let x = 0; x < blank.width; x++) {
      for (let y = 8; y < 20; y++) if (blank.get(x, y).join() === '0,0,0') ink++;
    }
    expect(ink).toBeGreaterThan(300);
  });
});

describe("the page's digit file", () => {
  it('holds the embedded digits byte for byte, and refuses a cut file', async () => {
    const { embeddedDigits } = await import('@neurite/mnist-embedded');
    const { packDigits, unpackDigits } = await import('../web/src/digits-file.js');
    const digits = embeddedDigits();
    const file = packDigits(digits);
    expect(file.length).toBe(16 + digits.images.length + digits.labels.length);
    expect(file.length).toBeLessThanOrEqual(2_000_000);
    const back = unpackDigits(file);
    expect(back.trainCount).toBe(8000);
    expect(Buffer.from(back.images).equals(Buffer.from(digits.images))).toBe(true);
    expect(Buffer.from(back.labels).equals(Buffer.from(digits.labels))).toBe(true);
    expect(() => unpackDigits(file.subarray(0, file.length - 1))).toThrow(
      /header gives \d+ \+ \d+ bytes of digits after byte 16, the file has \d+ bytes/,
    );
    expect(() => unpackDigits(new Uint8Array(20))).toThrow(/no 'NMD1' at byte 0/);
  });
});
