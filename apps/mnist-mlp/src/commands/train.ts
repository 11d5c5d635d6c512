import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { buildModel, type ModelSpec, TrainingError } from '@neurite/nn';
import { writeCheckpoint } from '../checkpoint.js';
import { InputError } from '../core/errors.js';
import type { TrainingMeta } from '../core/meta.js';
import { architecture } from '../core/spec-info.js';
import { carveValidation, type ImageSet } from '../core/split.js';
import { train } from '../core/train.js';
import { checkFits, type Dataset, loadDataset } from '../dataset.js';
import { modelSpec } from '../model.js';
import { count, duration, type Output, percent } from '../output.js';
import { EpochBar } from '../progress.js';
import { type RecipeName, recipes } from '../recipes.js';

export interface TrainOptions {
  recipe: RecipeName;
  epochs?: number;
  batch?: number;
  lr?: number;
  seed: number;
  data: string;
  out: string;
  compile: boolean;
}

/** What a finished (or stopped) run reports. */
export interface TrainReport {
  readonly recipe: RecipeName;
  readonly epochs: number;
  readonly batch: number;
  readonly seed: number;
  readonly parameters: number;
  readonly test_accuracy: number;
  readonly train_seconds: number;
  readonly samples_per_second: number;
  readonly model: string;
  /** Whether Ctrl-C cut the run short. */
  readonly stopped: boolean;
}

/** Refuses an --out that could not be written, before any time is spent training. */
async function checkWritable(path: string): Promise<void> {
  const folder = await stat(dirname(resolve(path))).catch(() => null);
  if (!folder?.isDirectory()) {
    throw new InputError(`--out ${path}: the folder ${dirname(path)} does not exist`);
  }
  if ((await stat(path).catch(() => null))?.isDirectory()) {
    throw new InputError(`--out ${path}: is a folder; give a file name for the checkpoint`);
  }
}

/**
 * The data of a run: the training and validation splits carved from the
 * training set, and the test set. The whole training set is not kept: its
 * images (47 MB for MNIST) are copied into the two splits (the training
 * split's into the kernels' memory, where the loader reads them), so
 * holding the set as well through training would hold them twice.
 */
async function splitsOf(
  source: string,
  spec: ModelSpec,
  validation: number,
): Promise<{ dataset: Omit<Dataset, 'train'>; train: ImageSet; val: ImageSet | null }> {
  const loaded = await loadDataset(source);
  checkFits(spec, loaded, source);
  const { train, val } = carveValidation(loaded.train, validation);
  return { dataset: { test: loaded.test, source: loaded.source }, train, val };
}

/**
 * Trains the network of `model.ts` by a recipe, with a live progress bar and
 * a line per epoch, and saves the checkpoint. Ctrl-C ends the run after the
 * current batch and still saves (the best weights so far); a second Ctrl-C
 * quits at once.
 */
export async function runTraining(options: TrainOptions, out: Output): Promise<TrainReport> {
  const recipe = recipes[options.recipe];
  const epochs = options.epochs ?? recipe.epochs;
  const batch = options.batch ?? recipe.batch;
  const lr = options.lr ?? recipe.lr;
  const spec = modelSpec(recipe);
  await checkWritable(options.out);
  const { dataset, train: trainSet, val } = await splitsOf(options.data, spec, recipe.validation);
  if (batch > trainSet.count) {
    throw new InputError(`--batch ${batch}: larger than the ${trainSet.count} training examples`);
  }
  const model = buildModel(spec, { seed: options.seed });
  const parameters = model.parameterCount();

  out.line(
    `training ${architecture(spec)} (${count(parameters)} parameters), recipe ${recipe.name}: ${recipe.summary}`,
  );
  out.line(
    `${epochs} epochs, batch ${batch}, lr ${lr}, seed ${options.seed}; data ${dataset.source}: ` +
      `${count(trainSet.count)} train, ${count(val?.count ?? 0)} validation, ${count(dataset.test.count)} test`,
  );

  const bar = new EpochBar();
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    bar.stop();
    process.stderr.write(
      'stopping after this batch and saving (Ctrl-C again quits without saving)\n',
    );
  };
  process.on('SIGINT', onSigint);
  const width = String(epochs).length;
  let outcome: Awaited<ReturnType<typeof train>>;
  try {
    outcome = await train(
      model,
      spec,
      { train: trainSet, val, test: dataset.test },
      { recipe, epochs, batch, lr, seed: options.seed, compiled: options.compile },
      {
        progress(p) {
          if (p.phase === 'epochBegin')
            bar.start(`${String(p.epoch).padStart(width)}/${epochs}`, p.batches);
          else if (p.phase === 'batch') {
            bar.update({ ...p, accuracy: p.metrics.accuracy ?? Number.NaN });
          }
        },
        epochEnd: (r, seconds) => {
          bar.stop();
          out.line(
            `epoch ${String(r.epoch).padStart(width)}/${epochs}  loss ${r.trainLoss.toFixed(4)}  ` +
              `train ${percent(r.trainAccuracy)}  val ${r.valAccuracy === null ? '-' : percent(r.valAccuracy)}  ` +
              `test ${percent(r.testAccuracy)}  lr ${r.lr.toExponential(2)}  ${duration(seconds)}`,
          );
        },
        shouldStop: () => stop,
      },
    );
  } catch (error) {
    // A diverging loss comes from the options the user gave: bad input, not a bug.
    if (error instanceof TrainingError) {
      throw new InputError(
        `training diverged: the loss is ${error.loss} at epoch ${error.epoch}, batch ${error.batch}; try a smaller --lr than ${lr}`,
      );
    }
    throw error;
  } finally {
    bar.stop();
    process.off('SIGINT', onSigint);
  }

  const meta: TrainingMeta = {
    app: 'mnist-mlp',
    recipe: recipe.name,
    epochs,
    epochsRun: outcome.history.length,
    batch,
    lr,
    seed: options.seed,
    data: dataset.source,
    trainExamples: trainSet.count,
    valExamples: val?.count ?? 0,
    testExamples: dataset.test.count,
    parameters,
    maxShift: recipe.maxShift,
    keptEpoch: outcome.keptEpoch,
    stopped: outcome.stopped,
    testAccuracy: outcome.testAccuracy,
    history: outcome.history,
  };
  await writeCheckpoint(options.out, model, spec, meta);
  const kept =
    outcome.keptEpoch === null
      ? 'kept the weights of the unfinished epoch'
      : val
        ? `kept epoch ${outcome.keptEpoch} (best validation accuracy ${percent(outcome.history[outcome.keptEpoch - 1]!.valAccuracy ?? Number.NaN)})`
        : `kept epoch ${outcome.keptEpoch}`;
  if (outcome.stopped) out.line(`stopped after ${outcome.history.length} of ${epochs} epochs`);
  out.line(`${kept}: test accuracy ${percent(outcome.testAccuracy)}`);
  out.line(
    `trained ${count(outcome.samples)} samples in ${duration(outcome.seconds)} (${count(outcome.samplesPerSecond)} samples/s); saved ${options.out}`,
  );
  return {
    recipe: recipe.name,
    epochs: outcome.history.length,
    batch,
    seed: options.seed,
    parameters,
    test_accuracy: outcome.testAccuracy,
    train_seconds: Math.round(outcome.seconds * 1000) / 1000,
    samples_per_second: Math.round(outcome.samplesPerSecond),
    model: options.out,
    stopped: outcome.stopped,
  };
}

/** `mnist-mlp train`: returns the exit code (130 after Ctrl-C, as shells expect). */
export async function trainCommand(
  options: TrainOptions & { json: boolean },
  out: Output,
): Promise<number> {
  const { stopped, ...report } = await runTraining(options, out);
  out.result(report);
  return stopped ? 130 : 0;
}
