import { DataLoader } from '@neurite/data';
import { buildModel, fit } from '@neurite/nn';
import { compile, noGrad, type Tensor, tensor } from '@neurite/tensor';
import { byteScale } from '../core/inference.js';
import { asSplit, recipeLoss } from '../core/train.js';
import { checkFits, loadDataset } from '../dataset.js';
import { modelSpec } from '../model.js';
import { count, type Output } from '../output.js';
import { type RecipeName, recipes } from '../recipes.js';

export interface BenchOptions {
  recipe: RecipeName;
  batch?: number;
  batches: number;
  data: string;
}

const WARMUP = 10;
/** The least time the inference passes are timed for, in milliseconds. */
const INFERENCE_MS = 500;

/**
 * `mnist-mlp bench`: training and inference speed of the network in eager
 * and compiled mode, on real digits (their sparsity matters to the
 * kernels), one JSON line per measurement with `--json`.
 */
export async function benchCommand(options: BenchOptions, out: Output): Promise<number> {
  const recipe = recipes[options.recipe];
  const batch = options.batch ?? recipe.batch;
  const spec = modelSpec(recipe);
  const { train, test } = await loadDataset(options.data);
  checkFits(spec, { test }, options.data);
  const lines: Record<string, unknown>[] = [];
  const report = (line: Record<string, unknown>) => {
    lines.push(line);
    out.line(
      `${String(line.bench).padEnd(9)} ${String(line.mode).padEnd(8)} batch ${String(line.batch).padStart(5)}  ${count(line.samples_per_second as number).padStart(9)} samples/s`,
    );
    out.result(line);
  };

  for (const mode of ['eager', 'compiled'] as const) {
    const model = buildModel(spec, { seed: 1 });
    const loader = new DataLoader(asSplit(train), {
      batchSize: batch,
      shuffle: true,
      seed: 1,
      dropLast: true,
      pinMemory: true,
    });
    // Timed from the end of the warm-up batches (the trace among them) to the last batch: the
    // whole of fit's loop, batches gathered and figures read, as `train` runs it.
    let done = 0;
    let samples = 0;
    let start = 0;
    let ms = 0;
    const epochs = Math.ceil((WARMUP + options.batches) / loader.length);
    await fit(model, loader, {
      loss: recipeLoss(recipe),
      optimizer: recipe.optimiser(model.parameters(), recipe.lr),
      epochs,
      metrics: ['accuracy'],
      compile: mode === 'compiled',
      callbacks: [
        {
          onBatchEnd(logs, ctx) {
            done++;
            if (done === WARMUP) start = performance.now();
            else if (done > WARMUP) samples += logs.size;
            if (done === WARMUP + options.batches) {
              ms = performance.now() - start;
              ctx.stopTraining = true;
            }
          },
        },
      ],
    });
    report({
      bench: 'train',
      mode,
      recipe: recipe.name,
      batch,
      batches: options.batches,
      samples_per_second: Math.round((samples * 1000) / ms),
    });
  }

  const chunk = Math.min(1000, test.count);
  const features = test.rows * test.cols;
  const scale = byteScale();
  const images = new Float32Array(chunk * features);
  for (let i = 0; i < images.length; i++) images[i] = scale[test.pixels[i]!]!;
  const x = tensor(images, { shape: [chunk, features] });
  for (const mode of ['eager', 'compiled'] as const) {
    const model = buildModel(spec, { seed: 1 }).eval();
    const forward = (input: Tensor) => noGrad(() => model.forward(input));
    const run = mode === 'compiled' ? compile(forward) : forward;
    // A pass takes well under a millisecond: warm the JIT up, then time at least
    // INFERENCE_MS of passes so that one timer tick or one collection does not decide the figure.
    for (let i = 0; i < 20; i++) run(x);
    const least = Math.max(3, Math.ceil((options.batches * batch) / chunk));
    const t = performance.now();
    let repeats = 0;
    let ms = 0;
    do {
      run(x);
      repeats++;
      ms = performance.now() - t;
    } while (repeats < least || ms < INFERENCE_MS);
    report({
      bench: 'inference',
      mode,
      recipe: recipe.name,
      batch: chunk,
      batches: repeats,
      samples_per_second: Math.round((repeats * chunk * 1000) / ms),
    });
  }
  return lines.length > 0 ? 0 : 1;
}
