import type { ModelSpec, Sequential } from '@neurite/nn';
import type { EpochRecord } from './history.js';
import { predictAll } from './inference.js';
import { evaluate } from './metrics.js';
import {
  confusionPicture,
  curvesPicture,
  type Mistake,
  mistakesPicture,
  weightHeatmaps,
} from './pictures.js';
import type { Raster } from './raster.js';
import type { ImageSet } from './split.js';

/** A picture and the file name it is saved under. */
export interface Figure {
  readonly file: string;
  readonly title: string;
  readonly raster: Raster;
}

/**
 * The incoming weights of every neuron of the first dense layer (the rows
 * of its weight matrix [out, in]).
 */
export function firstLayerWeights(model: Sequential): Float32Array[] {
  for (const [, p] of model.namedParameters()) {
    if (p.ndim === 2) {
      const [out, inputs] = p.shape as [number, number];
      return Array.from({ length: out }, (_, n) =>
        Float32Array.from(p.data.subarray(n * inputs, (n + 1) * inputs)),
      );
    }
  }
  throw new RangeError('firstLayerWeights: the model has no dense layer');
}

/** The `limit` misclassified examples the model believed least in their true class. */
export function worstMistakes(
  model: Sequential,
  spec: ModelSpec,
  set: ImageSet,
  limit: number,
): Mistake[] {
  const { predicted, confidence, trueScore } = predictAll(model, spec, set);
  const labels = set.labels.data;
  const wrong: number[] = [];
  for (let i = 0; i < set.count; i++) if (predicted[i] !== labels[i]) wrong.push(i);
  wrong.sort((a, b) => trueScore[a]! - trueScore[b]! || a - b);
  const n = set.rows * set.cols;
  return wrong.slice(0, limit).map((i) => ({
    pixels: set.pixels.subarray(i * n, (i + 1) * n),
    label: labels[i]!,
    predicted: predicted[i]!,
    confidence: confidence[i]!,
  }));
}

/**
 * The four pictures of a trained network: (a) first-layer weights as
 * heat maps, (b) training curves from the checkpoint's history, (c) the
 * confusion matrix on `test`, (d) the worst misclassified test digits.
 * `keptEpoch` (the checkpoint's best epoch on validation) is marked on the curves.
 *
 * @example
 * for (const f of figures(model, spec, meta.history, mnist.test)) save(f.file, f.raster.toPng());
 */
export function figures(
  model: Sequential,
  spec: ModelSpec,
  history: readonly EpochRecord[],
  test: ImageSet,
  keptEpoch: number | null = null,
): Figure[] {
  const weights = firstLayerWeights(model);
  const side = test.rows;
  const { predicted } = predictAll(model, spec, test);
  const { confusion } = evaluate(predicted, test.labels.data, confusionSize(spec, test));
  const columns = 8;
  const rows = 4;
  return [
    {
      file: 'weights.png',
      title: `first-layer weights of ${weights.length} neurons (blue +, red -)`,
      raster: weightHeatmaps(weights, { side }),
    },
    {
      file: 'curves.png',
      title: 'loss and accuracy per epoch',
      raster: curvesPicture(history, { keptEpoch }),
    },
    {
      file: 'confusion.png',
      title: 'confusion matrix on the test set',
      raster: confusionPicture(confusion),
    },
    {
      file: 'mistakes.png',
      title: `the ${columns * rows} worst misclassified test digits`,
      raster: mistakesPicture(worstMistakes(model, spec, test, columns * rows), {
        side,
        columns,
        rows,
        bytes: true,
      }),
    },
  ];
}

function confusionSize(spec: ModelSpec, test: ImageSet): number {
  let classes = 0;
  for (const layer of spec.layers) if (layer.type === 'dense') classes = layer.units;
  for (const l of test.labels.data) classes = Math.max(classes, l + 1);
  return classes;
}
