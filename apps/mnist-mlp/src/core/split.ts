import type { BatchSource } from '@neurite/data';
import { allocate, Rng, tensor } from '@neurite/tensor';

/** A labelled image set: what batches, evaluation and augmentation read. */
export interface ImageSet extends BatchSource {
  readonly rows: number;
  readonly cols: number;
}

/**
 * The seed of the validation split's permutation. Fixed, not the run's
 * seed: runs with different seeds then select models on the same held-out
 * digits and their figures compare.
 */
const VALIDATION_SEED = 20_260_101;

/**
 * `count` images of `set` picked by `indices` into a new set (pixels copied);
 * with `pinMemory`, copied into the kernels' memory, where a pinned
 * `DataLoader` gathers from them without a copy of its own.
 */
export function subset(
  set: ImageSet,
  indices: ArrayLike<number>,
  { pinMemory = false }: { pinMemory?: boolean } = {},
): ImageSet {
  const features = set.rows * set.cols;
  const pixels = allocate('uint8', indices.length * features, { pinMemory });
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i]!;
    pixels.set(set.pixels.subarray(j * features, (j + 1) * features), i * features);
    labels[i] = set.labels.data[j]!;
  }
  return { pixels, labels: tensor(labels), count: indices.length, rows: set.rows, cols: set.cols };
}

/**
 * Holds out `round(fraction · count)` examples of a training set, chosen by
 * a fixed seeded permutation, as a validation split: model selection looks
 * at it, never at the test set. The training split's pixels are pinned
 * (`subset` with `pinMemory`), as `train`'s loader reads them.
 *
 * @example
 * const { train, val } = carveValidation(mnist.train, 1 / 12); // 55,000 + 5,000
 */
export function carveValidation(
  set: ImageSet,
  fraction: number,
): { train: ImageSet; val: ImageSet | null } {
  const held = Math.round(set.count * fraction);
  if (held === 0 || held >= set.count) return { train: set, val: null };
  const order = new Rng(VALIDATION_SEED).shuffle(
    Int32Array.from({ length: set.count }, (_, i) => i),
  );
  // Sorted so the remaining training set keeps the original order of its files.
  const val = order.subarray(0, held).slice().sort();
  const train = order.subarray(held).slice().sort();
  // The training split is what the pinned loader gathers batches from.
  return { train: subset(set, train, { pinMemory: true }), val: subset(set, val) };
}
