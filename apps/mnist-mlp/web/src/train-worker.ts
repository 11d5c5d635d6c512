/**
 * Trains the network off the page's thread: the embedded MNIST digits
 * (fetched on the first run only, one 1.6 MB file), the CLI's recipes
 * trained by `fit` of @neurite/nn as the CLI trains them, its progress
 * reports and first-layer weights posted back, and the result as a
 * checkpoint.
 */
import { loadEmbeddedMnist, type Mnist } from '@neurite/data';
import { buildModel, checkpointBytes, type Sequential } from '@neurite/nn';
import { firstLayerWeights } from '../../src/core/figures.js';
import type { TrainingMeta } from '../../src/core/meta.js';
import { subset } from '../../src/core/split.js';
import { accuracyOn, train } from '../../src/core/train.js';
import { modelSpec } from '../../src/model.js';
import { recipes } from '../../src/recipes.js';
import { DIGITS_FILE, unpackDigits } from './digits-file.js';
import type { FromWorker, ToWorker, WeightSnapshot } from './train-protocol.js';

/** How often the live weight pictures are refreshed, in milliseconds. */
const SNAPSHOT_EVERY = 150;
/** How often the live figures are reported, in milliseconds. */
const REPORT_EVERY = 8;

// A dedicated worker's scope, typed by what is used (the page's lib is DOM).
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
};

let mnist: Promise<Mnist> | null = null;
let stopRequested = false;
let running = false;

function snapshot(model: Sequential): WeightSnapshot {
  const rows = firstLayerWeights(model);
  const inputs = rows[0]?.length ?? 0;
  const weight = new Float32Array(rows.length * inputs);
  rows.forEach((row, n) => {
    weight.set(row, n * inputs);
  });
  return { weight, neurons: rows.length };
}

async function run(request: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  const recipe = recipes[request.recipe];
  if (!mnist) {
    scope.postMessage({ type: 'status', text: 'Downloading the 10,000 MNIST digits (1.6 MB)…' });
    // The build writes the file beside this script (vite.config.ts); a name, not a
    // literal URL, so the bundler leaves it to be fetched at run time.
    mnist = fetch(new URL(DIGITS_FILE, import.meta.url))
      .then((response) => {
        if (!response.ok) {
          throw new Error(
            `the digits to train on could not be downloaded (${DIGITS_FILE}: HTTP ${response.status})`,
          );
        }
        return response.arrayBuffer();
      })
      .then((buffer) => {
        const digits = unpackDigits(new Uint8Array(buffer));
        return loadEmbeddedMnist({ embeddedDigits: () => digits });
      });
    mnist.catch(() => {
      mnist = null;
    });
  }
  const data = await mnist;
  const examples = Math.min(request.examples, data.train.count);
  const trainSet = subset(
    data.train,
    Int32Array.from({ length: examples }, (_, i) => i),
  );
  const spec = modelSpec(recipe);
  const model = buildModel(spec, { seed: request.seed });
  const batches = Math.floor(examples / recipe.batch);
  scope.postMessage({
    type: 'ready',
    trainExamples: examples,
    testExamples: data.test.count,
    batches,
    accuracy: accuracyOn(model, spec, data.test),
    snapshot: snapshot(model),
  });
  let lastSnapshot = 0;
  const smoothing = Math.min(0.1, 20 / Math.max(1, batches));
  const loss = new MovingAverage(smoothing);
  const accuracy = new MovingAverage(smoothing);
  let previousAccuracy = 0;
  const outcome = await train(
    model,
    spec,
    { train: trainSet, val: null, test: data.test },
    {
      recipe,
      epochs: request.epochs,
      batch: recipe.batch,
      lr: recipe.lr,
      seed: request.seed,
    },
    {
      batch(logs) {
        // fit reports each batch's own loss and the epoch's running accuracy; the
        // curves show moving averages of the per-batch figures, which flow across
        // epoch boundaries. Equal batches (the loader drops the last partial one):
        // the k-th batch's accuracy is k · mean_k − (k − 1) · mean_(k−1).
        const k = logs.batch;
        const meanAccuracy = logs.metrics.accuracy ?? Number.NaN;
        if (k === 1) previousAccuracy = 0;
        loss.add(logs.batchLoss);
        accuracy.add(k * meanAccuracy - (k - 1) * previousAccuracy);
        previousAccuracy = meanAccuracy;
      },
      progressEvery: REPORT_EVERY,
      progress(p) {
        if (p.phase === 'batch') {
          const now = performance.now();
          const last = p.batch === p.batches;
          const fresh = now - lastSnapshot > SNAPSHOT_EVERY || last;
          if (fresh) lastSnapshot = now;
          scope.postMessage({
            type: 'batch',
            at: p.epoch - 1 + p.batch / p.batches,
            loss: loss.value,
            accuracy: accuracy.value,
            samplesPerSecond: p.samplesPerSecond,
            snapshot: fresh ? snapshot(model) : null,
          });
        } else if (p.phase === 'epochEnd') {
          scope.postMessage({
            type: 'epoch',
            epoch: p.logs.epoch,
            trainLoss: p.logs.loss,
            trainAccuracy: p.logs.accuracy ?? Number.NaN,
            testAccuracy: p.logs.testAccuracy ?? Number.NaN,
          });
        }
      },
      shouldStop: () => stopRequested,
    },
  );
  const meta: TrainingMeta = {
    app: 'mnist-mlp',
    recipe: recipe.name,
    epochs: request.epochs,
    epochsRun: outcome.history.length,
    batch: recipe.batch,
    lr: recipe.lr,
    seed: request.seed,
    data: 'embedded',
    trainExamples: examples,
    valExamples: 0,
    testExamples: data.test.count,
    parameters: model.parameterCount(),
    maxShift: recipe.maxShift,
    keptEpoch: outcome.keptEpoch,
    stopped: outcome.stopped,
    testAccuracy: outcome.testAccuracy,
    history: outcome.history,
  };
  const checkpoint = checkpointBytes(model, { spec, meta: { ...meta } });
  scope.postMessage(
    {
      type: 'done',
      testAccuracy: outcome.testAccuracy,
      stopped: outcome.stopped,
      seconds: outcome.seconds,
      snapshot: snapshot(model),
      checkpoint,
    },
    [checkpoint.buffer],
  );
}

/** An exponential moving average, bias-corrected so its first values are not pulled to 0. */
class MovingAverage {
  private sum = 0;
  private weight = 0;

  constructor(private readonly rate: number) {}

  add(x: number): void {
    this.sum = (1 - this.rate) * this.sum + this.rate * x;
    this.weight = (1 - this.rate) * this.weight + this.rate;
  }

  get value(): number {
    return this.weight === 0 ? Number.NaN : this.sum / this.weight;
  }
}

scope.onmessage = (event) => {
  const message = event.data;
  if (message.type === 'stop') {
    stopRequested = true;
    return;
  }
  if (running) return;
  running = true;
  stopRequested = false;
  run(message)
    .catch((error: unknown) => {
      scope.postMessage({
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
      });
    })
    .finally(() => {
      running = false;
    });
};
