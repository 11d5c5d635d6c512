import { DataLoader } from '@neurite/data';
import type { ModelSpec, Sequential, StateDict } from '@neurite/nn';
import { compile, Rng, type Tensor } from '@neurite/tensor';
import type { Recipe } from '../recipes.js';
import { shiftInto } from './augment.js';
import type { EpochRecord } from './history.js';
import { byteScale, predictAll } from './inference.js';
import type { ImageSet } from './split.js';
import { makeTrainStep, type TrainStep } from './train-step.js';

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

/** Live figures after each batch. */
export interface BatchReport {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  /** Mean loss and accuracy over the epoch's batches so far. */
  readonly loss: number;
  readonly accuracy: number;
  readonly samplesPerSecond: number;
}

/** Callbacks that let a CLI or a web page watch and stop a run. */
export interface TrainHooks {
  epochStart?(epoch: number, batches: number): void;
  batch?(report: BatchReport): void;
  epochEnd?(record: EpochRecord, seconds: number): void;
  /** Polled after every batch; true ends the run after that batch. */
  shouldStop?(): boolean;
  /** Lets the host handle signals and redraw (called every ~100 ms). Default: a zero-delay timer. */
  pause?(): Promise<void>;
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

const now = () => performance.now();

/** Accuracy of the model on a set. */
export function accuracyOn(model: Sequential, spec: ModelSpec, set: ImageSet): number {
  const { predicted } = predictAll(model, spec, set);
  const labels = set.labels.data;
  let correct = 0;
  for (let i = 0; i < set.count; i++) if (predicted[i] === labels[i]) correct++;
  return set.count === 0 ? Number.NaN : correct / set.count;
}

/**
 * Trains `model` by `config.recipe` and leaves it holding the weights of the
 * epoch with the best validation accuracy (the last epoch's if there is no
 * validation split). The test set is only measured, never used to choose.
 *
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
  const pause = hooks.pause ?? (() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
  const optimiser = recipe.optimiser(model.parameters(), lr);
  const eager = makeTrainStep(model, recipe.loss, optimiser);
  const step: TrainStep = config.compiled === false ? eager : compile(eager);
  const loader = new DataLoader(data.train, {
    batchSize: batch,
    shuffle: true,
    seed,
    dropLast: true,
  });
  if (loader.length === 0) {
    throw new RangeError(
      `train: batch size ${batch} is larger than the ${data.train.count} training examples`,
    );
  }
  const total = epochs * loader.length;
  const augmentRng = new Rng((seed ^ 0x2545f491) >>> 0);
  const scale = byteScale();

  const history: EpochRecord[] = [];
  let best: { accuracy: number; epoch: number; weights: StateDict } | null = null;
  let stopped = false;
  let samples = 0;
  let stepMs = 0;
  const started = now();
  let lastPause = started;
  model.train();

  for (let epoch = 1; epoch <= epochs && !stopped; epoch++) {
    const epochStarted = now();
    hooks.epochStart?.(epoch, loader.length);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let index = 0;
    for (const batch of loader.epoch(epoch - 1)) {
      const [images, labels] = batch as unknown as [Tensor, Tensor];
      const { indices } = batch;
      if (recipe.maxShift > 0) {
        shiftInto(
          images.data as Float32Array,
          data.train.pixels,
          indices,
          data.train.rows,
          data.train.cols,
          recipe.maxShift,
          augmentRng,
          scale,
        );
      }
      optimiser.lr = recipe.lrAt((epoch - 1) * loader.length + index, total, lr);
      const t = now();
      const result = step(images, labels);
      const loss = result.loss.item();
      stepMs += now() - t;
      if (!Number.isFinite(loss)) {
        throw new Error(
          `training diverged: the loss is ${loss} at epoch ${epoch}, batch ${index + 1}; try a smaller --lr than ${lr}`,
        );
      }
      index++;
      lossSum += loss * images.shape[0]!;
      correct += result.correct.item();
      seen += images.shape[0]!;
      samples += images.shape[0]!;
      hooks.batch?.({
        epoch,
        batch: index,
        batches: loader.length,
        loss: lossSum / seen,
        accuracy: correct / seen,
        samplesPerSecond: (samples * 1000) / stepMs,
      });
      if (now() - lastPause > 100) {
        await pause();
        lastPause = now();
      }
      if (hooks.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
    if (stopped) break;
    const valAccuracy = data.val ? accuracyOn(model, spec, data.val) : null;
    const record: EpochRecord = {
      epoch,
      trainLoss: lossSum / seen,
      trainAccuracy: correct / seen,
      valAccuracy,
      testAccuracy: accuracyOn(model, spec, data.test),
      lr: optimiser.lr,
    };
    history.push(record);
    if (valAccuracy !== null && (best === null || valAccuracy > best.accuracy)) {
      best = { accuracy: valAccuracy, epoch, weights: model.stateDict() };
    }
    hooks.epochEnd?.(record, (now() - epochStarted) / 1000);
  }

  // Keep the best epoch on validation; without a validation split, the latest weights
  // (which, after a stop mid-epoch, no epoch record describes).
  let keptEpoch: number | null;
  if (best) {
    if (stopped || best.epoch !== history.length) model.loadStateDict(best.weights);
    keptEpoch = best.epoch;
  } else {
    keptEpoch = stopped || history.length === 0 ? null : history.length;
  }
  const testAccuracy =
    keptEpoch === null ? accuracyOn(model, spec, data.test) : history[keptEpoch - 1]!.testAccuracy;
  model.eval();
  return {
    history,
    keptEpoch,
    stopped,
    samples,
    seconds: (now() - started) / 1000,
    samplesPerSecond: stepMs > 0 ? (samples * 1000) / stepMs : 0,
    testAccuracy,
  };
}
