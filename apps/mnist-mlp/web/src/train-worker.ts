/**
 * Trains the network off the page's thread: the embedded MNIST digits
 * (loaded on the first run only, ~21 MB of script), the CLI's recipes and
 * training loop, live figures and first-layer weights posted back, and the
 * result as a checkpoint.
 */
import { loadEmbeddedMnist, type Mnist } from '@neurite/data';
import { buildModel, checkpointBytes, type Sequential } from '@neurite/nn';
import { firstLayerWeights } from '../../src/core/figures.js';
import type { TrainingMeta } from '../../src/core/meta.js';
import { subset } from '../../src/core/split.js';
import { accuracyOn, train } from '../../src/core/train.js';
import { modelSpec } from '../../src/model.js';
import { recipes } from '../../src/recipes.js';
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
    scope.postMessage({ type: 'status', text: 'loading the embedded MNIST digits…' });
    mnist = loadEmbeddedMnist();
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
  let lastReport = 0;
  // The loop reports running means over the epoch so far; the curves show a moving average
  // of the per-batch figures instead, which flows across epoch boundaries.
  const smoothing = Math.min(0.1, 20 / Math.max(1, batches));
  const loss = new MovingAverage(smoothing);
  const accuracy = new MovingAverage(smoothing);
  let previous = { loss: 0, accuracy: 0 };
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
      batch(report) {
        const now = performance.now();
        const last = report.batch === report.batches;
        // Equal batches (the loader drops the last partial one): the k-th batch's own figure
        // is k · mean_k − (k − 1) · mean_(k−1).
        const k = report.batch;
        if (k === 1) previous = { loss: 0, accuracy: 0 };
        loss.add(k * report.loss - (k - 1) * previous.loss);
        accuracy.add(k * report.accuracy - (k - 1) * previous.accuracy);
        previous = { loss: report.loss, accuracy: report.accuracy };
        // Thousands of batches a second would flood the page: report a few per frame.
        if (now - lastReport < REPORT_EVERY && !last) return;
        lastReport = now;
        const fresh = now - lastSnapshot > SNAPSHOT_EVERY || last;
        if (fresh) lastSnapshot = now;
        scope.postMessage({
          type: 'batch',
          at: report.epoch - 1 + report.batch / report.batches,
          loss: loss.value,
          accuracy: accuracy.value,
          samplesPerSecond: report.samplesPerSecond,
          snapshot: fresh ? snapshot(model) : null,
        });
      },
      epochEnd(record) {
        scope.postMessage({
          type: 'epoch',
          epoch: record.epoch,
          trainLoss: record.trainLoss,
          trainAccuracy: record.trainAccuracy,
          testAccuracy: record.testAccuracy,
        });
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
