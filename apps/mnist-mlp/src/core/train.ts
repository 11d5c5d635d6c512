import { DataLoader, MnistSplit, randomShift } from '@neurite/data';
import {
  type BatchLogs,
  type Callback,
  fit,
  type LossFn,
  type ModelSpec,
  modelCheckpoint,
  type Progress,
  progress,
  quadraticCost,
  type Sequential,
  warmupCosine,
} from '@neurite/nn';
import { oneHot } from '@neurite/tensor';
import type { Recipe } from '../recipes.js';
import type { EpochRecord } from './history.js';
import { predictAll } from './inference.js';
import type { ImageSet } from './split.js';

/** The data a run sees: training and validation splits carved from the training set, and the test set. */
export interface TrainingData {
  readonly train: ImageSet;
  readonly val: ImageSet | null;
  readonly test: ImageSet;
}

export interface TrainConfig {
  readonly recipe: Recipe;
  readonly epochs: number;
  readonly batch: number;
  /** Peak learning rate (the recipe's schedule shapes it per step). */
  readonly lr: number;
  /** Seeds the batch order and the augmentation (the weights are seeded when the model is built). */
  readonly seed: number;
  /** Run the step through `compile` (same numbers as eager, faster). Default true. */
  readonly compiled?: boolean;
}

/** How a CLI or a web page watches and stops a run. */
export interface TrainHooks {
  /** Training's progress, as `progress` of @neurite/nn reports it (throttled to every `progressEvery` ms). */
  progress?(p: Progress): void;
  /** Milliseconds between batch reports to `progress`. Default 100. */
  readonly progressEvery?: number;
  /** After every batch, with the epoch's running figures. */
  batch?(logs: BatchLogs): void;
  /** After every epoch, with its record and its wall time. */
  epochEnd?(record: EpochRecord, seconds: number): void;
  /** Polled after every batch; true ends the run after that batch. */
  shouldStop?(): boolean;
}

export interface TrainOutcome {
  readonly history: EpochRecord[];
  /** The epoch whose weights the model holds at the end (best on validation), or null for weights of an unfinished epoch. */
  readonly keptEpoch: number | null;
  /** Whether `shouldStop` ended the run early. */
  readonly stopped: boolean;
  /** Training examples processed. */
  readonly samples: number;
  /** Wall time of the run, evaluation included. */
  readonly seconds: number;
  /** Examples per second of training steps alone. */
  readonly samplesPerSecond: number;
  /** Test accuracy of the weights the model holds at the end. */
  readonly testAccuracy: number;
}

/** Accuracy of the model on a set. */
export function accuracyOn(model: Sequential, spec: ModelSpec, set: ImageSet): number {
  const { predicted } = predictAll(model, spec, set);
  const labels = set.labels.data;
  let correct = 0;
  for (let i = 0; i < set.count; i++) if (predicted[i] === labels[i]) correct++;
  return set.count === 0 ? Number.NaN : correct / set.count;
}

/** The loss a recipe trains with: cross-entropy on logits, or the quadratic cost against one-hot labels. */
export function recipeLoss(recipe: Recipe): LossFn | 'crossEntropy' {
  if (recipe.loss === 'crossEntropy') return 'crossEntropy';
  return (output, labels) => quadraticCost(output, oneHot(labels, output.shape[output.ndim - 1]!));
}

/** An image set as the data package's byte-image dataset (its fast uint8 path). */
export function asSplit(set: ImageSet): MnistSplit {
  return set instanceof MnistSplit
    ? set
    : new MnistSplit(set.pixels, set.labels, set.rows, set.cols);
}

/**
 * Trains `model` by `config.recipe` with `fit` and leaves it holding the
 * weights of the epoch with the best validation accuracy (the last epoch's
 * if there is no validation split). The test set is only measured, never
 * used to choose.
 *
 * The recipe becomes fit's configuration: its loss, its optimiser, its
 * warm-up + cosine schedule (`warmupCosine`), and a seeded ±maxShift pixel
 * shift of every training image (`randomShift` on the loader).
 * Deterministic: the same model, data and config give bit-identical weights.
 *
 * @example
 * const outcome = await train(model, spec, data, { recipe, epochs: 5, batch: 64, lr: 3e-3, seed: 1 });
 * outcome.testAccuracy; // 0.95…
 */
export async function train(
  model: Sequential,
  spec: ModelSpec,
  data: TrainingData,
  config: TrainConfig,
  hooks: TrainHooks = {},
): Promise<TrainOutcome> {
  const { recipe, epochs, batch, lr, seed } = config;
  const optimiser = recipe.optimiser(model.parameters(), lr);
  // Pinned: each batch is gathered in WebAssembly from the training images, which
  // carveValidation put in the kernels' memory, into a buffer the first layer reads in
  // place (same bits).
  const loader = new DataLoader(asSplit(data.train), {
    batchSize: batch,
    shuffle: true,
    seed,
    dropLast: true,
    pinMemory: true,
    ...(recipe.maxShift > 0 ? { transform: randomShift(recipe.maxShift) } : {}),
  });
  if (loader.length === 0) {
    throw new RangeError(
      `train: batch size ${batch} is larger than the ${data.train.count} training examples`,
    );
  }
  const started = performance.now();
  const best = data.val ? modelCheckpoint({ monitor: 'valAccuracy', restoreBest: true }) : null;
  const callbacks: Callback[] = [
    warmupCosine({ peak: lr, warmup: recipe.warmup }),
    {
      provides: ['testAccuracy'],
      onEpochEnd(logs) {
        logs.testAccuracy = accuracyOn(model, spec, data.test);
      },
    },
    ...(best ? [best] : []),
    {
      onBatchEnd(logs, ctx) {
        hooks.batch?.(logs);
        if (hooks.shouldStop?.()) ctx.stopTraining = true;
      },
      onEpochEnd(logs) {
        hooks.epochEnd?.(toRecord(logs), logs.seconds);
      },
    },
  ];
  if (hooks.progress)
    callbacks.push(progress(hooks.progress, { every: hooks.progressEvery ?? 100 }));
  const history = await fit(model, loader, {
    loss: recipeLoss(recipe),
    optimizer: optimiser,
    epochs,
    metrics: ['accuracy'],
    ...(data.val ? { validation: asSplit(data.val) } : {}),
    compile: config.compiled !== false,
    callbacks,
  });

  const records = history.epochs.map(toRecord);
  const stopped = history.stopped;
  // The best epoch on validation (fit's checkpoint callback has restored it); without a
  // validation split, the latest weights (which, after a stop mid-epoch, no epoch record describes).
  let keptEpoch: number | null;
  if (best) keptEpoch = best.best?.epoch ?? null;
  else keptEpoch = stopped || records.length === 0 ? null : records.length;
  const testAccuracy =
    keptEpoch === null ? accuracyOn(model, spec, data.test) : records[keptEpoch - 1]!.testAccuracy;
  model.eval();
  return {
    history: records,
    keptEpoch,
    stopped,
    samples: history.samples,
    seconds: (performance.now() - started) / 1000,
    samplesPerSecond: history.samplesPerSecond,
    testAccuracy,
  };
}

function toRecord(logs: Record<string, number>): EpochRecord {
  return {
    epoch: logs.epoch!,
    trainLoss: logs.loss!,
    trainAccuracy: logs.accuracy!,
    valAccuracy: logs.valAccuracy ?? null,
    testAccuracy: logs.testAccuracy!,
    lr: logs.lr!,
  };
}
