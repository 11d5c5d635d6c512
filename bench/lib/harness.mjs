// The measuring loop every Node implementation shares, so tfjs and neurite
// are timed by the same code: same data, same batch order, same warm-up, same
// clock. lib/harness.py mirrors it line for line for the Python implementations.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { readMnistDir } from './idx.mjs';

export const PIXELS = 784;
export const CLASSES = 10;
/** Samples per epoch in a --quick smoke run. */
export const QUICK_SAMPLES = 5000;
/** Inference times this many passes over the test set per requested epoch. */
export const INFERENCE_PASSES_PER_EPOCH = 5;
/** The recipes: three on the 784-16-16-10 network, one on the small CNN. */
export const RECIPES = ['modern', 'classic', 'inference', 'cnn'];
export const DEFAULT_BATCH = { modern: 64, classic: 10, inference: 1000, cnn: 64 };
/** Untimed samples the inference network is trained on first, so its accuracy means something. */
const INFERENCE_FIT_SAMPLES = 60000;

/** The options every implementation receives from run.mjs. */
export function parseImplArgs(argv = process.argv.slice(2), extra = {}) {
  const { values } = parseArgs({
    args: argv,
    options: {
      recipe: { type: 'string' },
      epochs: { type: 'string', default: '3' },
      batch: { type: 'string' },
      seed: { type: 'string', default: '1' },
      perm: { type: 'string' },
      data: { type: 'string' },
      'data-kind': { type: 'string', default: 'mnist' },
      warmup: { type: 'string' },
      quick: { type: 'boolean', default: false },
      soak: { type: 'string' },
      ...extra,
    },
    strict: true,
  });
  for (const required of ['recipe', 'perm', 'data']) {
    if (values[required] === undefined) throw new Error(`missing --${required}`);
  }
  if (!RECIPES.includes(values.recipe)) {
    throw new Error(`--recipe: '${values.recipe}' is not one of ${RECIPES.join(', ')}`);
  }
  const int = (name, value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`--${name}: '${value}' is not a whole number`);
    return n;
  };
  const defaultBatch = DEFAULT_BATCH[values.recipe];
  return {
    ...values,
    epochs: Math.max(1, int('epochs', values.epochs)),
    batch: int('batch', values.batch ?? defaultBatch),
    seed: int('seed', values.seed),
    warmup: values.warmup === undefined ? undefined : int('warmup', values.warmup),
    soak: values.soak === undefined ? undefined : int('soak', values.soak),
  };
}

/**
 * The four MNIST arrays as bytes, read by @neurite/data's Node loader when it
 * is built, else by the bench's own IDX reader (same checks, same bytes).
 */
async function readMnist(dir) {
  let data;
  try {
    data = await import('@neurite/data/node');
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' && error?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED')
      throw error;
  }
  if (typeof data?.loadMnistDir !== 'function')
    return { ...readMnistDir(dir), loader: 'bench-idx' };
  const { train, test } = await data.loadMnistDir(dir);
  return {
    trainImages: train.pixels,
    trainLabels: train.labels.data,
    testImages: test.pixels,
    testLabels: test.labels.data,
    loader: '@neurite/data',
  };
}

/**
 * MNIST as the networks read it: pixels scaled to [0, 1] as float32 (`trainX`, made on first
 * read: an implementation that gathers its batches from the bytes never makes it), one-hot
 * targets; and the training images' bytes as read (`trainImages`), for a loader of one's own.
 */
export async function loadData(dir) {
  const raw = await readMnist(dir);
  const scale = (bytes) => {
    const out = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
    return out;
  };
  const oneHot = (labels) => {
    const out = new Float32Array(labels.length * CLASSES);
    for (let i = 0; i < labels.length; i++) out[i * CLASSES + labels[i]] = 1;
    return out;
  };
  let trainX;
  return {
    get trainX() {
      trainX ??= scale(raw.trainImages);
      return trainX;
    },
    trainImages: raw.trainImages,
    trainY: oneHot(raw.trainLabels),
    trainLabels: Int32Array.from(raw.trainLabels),
    testX: scale(raw.testImages),
    testLabels: Int32Array.from(raw.testLabels),
    loader: raw.loader,
  };
}

/** The shared batch orders: consecutive permutations of the training indices. */
export function loadPermutations(path, n) {
  const bytes = readFileSync(path);
  const all = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  if (all.length === 0 || all.length % n !== 0) {
    throw new Error(
      `${path}: ${all.length} int32 values is not a whole number of permutations of ${n}`,
    );
  }
  return Array.from({ length: all.length / n }, (_, i) => all.subarray(i * n, (i + 1) * n));
}

/**
 * Copies rows `order[start .. start+size)` of `source` into a fresh array (or into `out`,
 * a buffer the implementation reuses from batch to batch), as a data loader does.
 */
export function gatherRows(
  source,
  width,
  order,
  start,
  size,
  out = new Float32Array(size * width),
) {
  for (let i = 0; i < size; i++) {
    const row = order[start + i];
    out.set(source.subarray(row * width, (row + 1) * width), i * width);
  }
  return out;
}

/** Throws unless `x` holds rows order[start …] of the bytes as float32 in [0, 1], as `trainX` does. */
function checkImages(x, bytes, order, start, size) {
  if (!(x instanceof Float32Array) || x.length !== size * PIXELS) {
    throw new Error(
      `imageBatches: a batch is a ${x?.constructor?.name} of ${x?.length}, not ${size}×${PIXELS} float32`,
    );
  }
  for (let i = 0; i < size; i++) {
    const row = order[start + i];
    for (let k = 0; k < PIXELS; k++) {
      const want = Math.fround(bytes[row * PIXELS + k] / 255);
      if (!Object.is(x[i * PIXELS + k], want)) {
        throw new Error(
          `imageBatches: row ${i} (image ${row}) pixel ${k} is ${x[i * PIXELS + k]}, trainX holds ${want}`,
        );
      }
    }
  }
}

function gatherLabels(labels, order, start, size) {
  const out = new Int32Array(size);
  for (let i = 0; i < size; i++) out[i] = labels[order[start + i]];
  return out;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const mb = (bytes) => Math.round((bytes / 2 ** 20) * 10) / 10;
const peakRssMb = () => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

/**
 * Runs one implementation and prints its result as one JSON line on stdout.
 *
 * `setup({ recipe, batch, seed, trainImages, trainLabels })` builds the network and returns
 * `{ train(batch, wantLoss) -> number|undefined, predict(x, size) -> ArrayLike<number>, info? }`,
 * or, for a library's own training loop, `trainEpochs(epochs) -> Promise<{ seconds, loss }>`
 * in place of `train`, where each epoch is `{ count, batches() }` (an iterable of batches)
 * and `seconds[i]` times epoch i from its first batch to its last;
 * optionally `place(array)`, giving the test images where the library's kernels read them
 * (once, untimed, as a framework's own tensor holds a data set), and `imageBatches(order, count)`,
 * the images of batches 0 … count−1 of `order` (rows order[b·batch …]) gathered by the
 * library's own data loader from `trainImages` (the training images' bytes, 0–255) as float32
 * arrays, each holding what `gatherRows` of `trainX` would (the first batch is checked);
 * where `batch` is `{ x, y, labels, size }` (x: size×784 float32, y: size×10 one-hot);
 * the cnn recipe reads each row of x as a 1×28×28 image.
 */
export async function runImplementation(impl, options, setup) {
  const line = (fields) => process.stdout.write(`${JSON.stringify(fields)}\n`);
  const data = await loadData(options.data);
  const trainN = data.trainLabels.length;
  const perms = loadPermutations(options.perm, trainN);
  const trainRecipe = options.recipe === 'inference' ? 'modern' : options.recipe;
  const trainBatch = options.recipe === 'inference' ? 64 : options.batch;
  const model = await setup({
    recipe: trainRecipe,
    batch: trainBatch,
    seed: options.seed,
    trainImages: data.trainImages,
    trainLabels: data.trainLabels,
  });
  if (model.skipped) {
    line({ impl, recipe: options.recipe, skipped: model.skipped });
    return;
  }
  if (model.place) data.testX = model.place(data.testX);
  const epochSamples = Math.min(options.quick ? QUICK_SAMPLES : trainN, trainN);
  const batchesPerEpoch = Math.floor(epochSamples / trainBatch);

  let lastLoss;
  let checked = false;
  /**
   * Batches `order[0 .. count·batch)`, one at a time, as a data loader gives them: the images
   * from the implementation's loader (`imageBatches`), else gathered here into a fresh array.
   */
  function* batchesOf(order, count) {
    const images = model.imageBatches?.(order, count)[Symbol.iterator]();
    for (let b = 0; b < count; b++) {
      const start = b * trainBatch;
      let x;
      if (images) {
        x = images.next().value;
        if (!checked) {
          checkImages(x, data.trainImages, order, start, trainBatch);
          checked = true;
        }
      } else x = gatherRows(data.trainX, PIXELS, order, start, trainBatch);
      // The targets are gathered when read: an implementation pays for the form it uses
      // (one-hot rows or class labels), as a loader giving only that form would.
      let y;
      let labels;
      yield {
        x,
        get y() {
          y ??= gatherRows(data.trainY, CLASSES, order, start, trainBatch);
          return y;
        },
        get labels() {
          labels ??= gatherLabels(data.trainLabels, order, start, trainBatch);
          return labels;
        },
        size: trainBatch,
      };
    }
  }
  /**
   * Epochs through the implementation's own loop (`trainEpochs`, as `fit` runs them): each
   * `[order, count]` becomes one epoch of batches; returns each epoch's seconds, timed by the
   * implementation from its first batch to its last, and the last epoch's loss.
   */
  const ownLoop = (plan) =>
    model.trainEpochs(
      plan.map(([order, count]) => ({ count, batches: () => batchesOf(order, count) })),
    );
  const trainBatches = (order, count) => {
    let b = 0;
    for (const batch of batchesOf(order, count)) {
      const wantLoss = ++b === count;
      const loss = model.train(batch, wantLoss);
      if (wantLoss) lastLoss = loss;
    }
  };
  const testN = Math.min(
    options.quick ? QUICK_SAMPLES : data.testLabels.length,
    data.testLabels.length,
  );
  const inferBatch = options.recipe === 'inference' ? options.batch : 1000;
  const evaluate = () => {
    let correct = 0;
    for (let start = 0; start + inferBatch <= testN; start += inferBatch) {
      // A view, as lib/harness.py's test_x[start:end] is: copying 3 MB per batch inside the
      // timed loop cost the Node implementations ~1 ms of a 1000-sample batch that Python skips.
      const x = data.testX.subarray(start * PIXELS, (start + inferBatch) * PIXELS);
      const predicted = model.predict(x, inferBatch);
      for (let i = 0; i < inferBatch; i++) {
        if (predicted[i] === data.testLabels[start + i]) correct++;
      }
    }
    return correct / (Math.floor(testN / inferBatch) * inferBatch);
  };
  const base = {
    impl,
    recipe: options.recipe,
    batch: options.batch,
    data: options['data-kind'],
    loader: data.loader,
    ...model.info,
  };

  if (options.soak !== undefined && model.trainEpochs) {
    line({ impl, recipe: options.recipe, skipped: 'the soak runs the hand-written loops' });
    return;
  }
  if (options.soak !== undefined) {
    trainBatches(perms[0], Math.min(options.warmup ?? 300, batchesPerEpoch));
    for (let e = 1; e <= options.soak; e++) {
      const t0 = performance.now();
      trainBatches(perms[e % perms.length], batchesPerEpoch);
      const seconds = (performance.now() - t0) / 1000;
      const mem = process.memoryUsage();
      line({
        ...base,
        soak_epoch: e,
        epoch_s: round(seconds, 4),
        loss: round(lastLoss, 5),
        rss_mb: mb(mem.rss),
        heap_mb: mb(mem.heapUsed),
        external_mb: mb(mem.external),
      });
    }
    line({ ...base, soak_epochs: options.soak, peak_rss_mb: peakRssMb() });
    return;
  }

  if (options.recipe === 'inference') {
    // Fit first (untimed) so the accuracy printed is a check that the forward pass is right.
    const fitBatches = Math.floor(
      Math.min(options.quick ? QUICK_SAMPLES : INFERENCE_FIT_SAMPLES, trainN) / trainBatch,
    );
    if (model.trainEpochs) await ownLoop([[perms[0], fitBatches]]);
    else trainBatches(perms[0], fitBatches);
    const warmupPasses = options.warmup ?? 3;
    for (let i = 0; i < warmupPasses; i++) evaluate();
    const passes = Math.max(1, options.epochs * INFERENCE_PASSES_PER_EPOCH);
    const times = [];
    let accuracy = 0;
    for (let i = 0; i < passes; i++) {
      const t0 = performance.now();
      accuracy = evaluate();
      times.push((performance.now() - t0) / 1000);
    }
    const samples = Math.floor(testN / inferBatch) * inferBatch;
    const seconds = median(times);
    line({
      ...base,
      epoch_s: round(seconds, 5),
      samples_per_s: Math.round(samples / seconds),
      samples,
      passes,
      accuracy: round(accuracy, 4),
      peak_rss_mb: peakRssMb(),
    });
    return;
  }

  // Warm-up: a few hundred batches lets the JIT (and any one-off tracing) settle.
  const warmup = Math.min(options.warmup ?? (options.quick ? 20 : 300), batchesPerEpoch);
  let times = [];
  if (model.trainEpochs) {
    const plan = [[perms[0], warmup]];
    for (let e = 0; e < options.epochs; e++)
      plan.push([perms[(e + 1) % perms.length], batchesPerEpoch]);
    const own = await ownLoop(plan);
    times = own.seconds.slice(1);
    lastLoss = own.loss;
  } else {
    trainBatches(perms[0], warmup);
    for (let e = 0; e < options.epochs; e++) {
      const t0 = performance.now();
      trainBatches(perms[(e + 1) % perms.length], batchesPerEpoch);
      times.push((performance.now() - t0) / 1000);
    }
  }
  const samples = batchesPerEpoch * trainBatch;
  const seconds = median(times);
  line({
    ...base,
    epoch_s: round(seconds, 4),
    samples_per_s: Math.round(samples / seconds),
    samples,
    epochs: options.epochs,
    epoch_s_all: times.map((t) => round(t, 4)),
    loss: round(lastLoss, 5),
    test_acc: round(evaluate(), 4),
    peak_rss_mb: peakRssMb(),
  });
}

function round(x, digits) {
  if (x === undefined || !Number.isFinite(x)) return x === undefined ? null : String(x);
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Runs `main`, turning any failure into a clear message and a non-zero exit. */
export function main(fn) {
  fn().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
}
