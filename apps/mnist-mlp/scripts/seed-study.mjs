#!/usr/bin/env node
// Trains one recipe for several seeds, one run at a time, and prints each
// seed's test accuracy, then their mean and sample standard deviation: the
// figures that tell a change in accuracy from seed-to-seed noise.
//
//   node apps/mnist-mlp/scripts/seed-study.mjs --recipe classic --seeds 1-8 \
//     --data /path/to/mnist|embedded [--epochs N] [--root DIR] [--json]
//
// --root runs the CLI of another checkout (built), so that two versions are
// compared with one command each. Runs write their checkpoints to a temporary
// folder that is removed at the end.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    recipe: { type: 'string', default: 'classic' },
    seeds: { type: 'string', default: '1-8' },
    data: { type: 'string' },
    root: { type: 'string' },
    epochs: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

function parseSeeds(text) {
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from) throw new Error(`--seeds ${text}: the range is empty`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
  const seeds = text.split(',').map(Number);
  if (seeds.some((s) => !Number.isInteger(s)))
    throw new Error(`--seeds ${text}: not a list of integers`);
  return seeds;
}

if (!values.data) {
  process.stderr.write('seed-study: --data DIR (the four MNIST files, or embedded) is required\n');
  process.exit(2);
}
const seeds = parseSeeds(values.seeds);
const root = values.root
  ? resolve(values.root)
  : resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const cli = join(root, 'apps/mnist-mlp/dist/cli.js');
const work = mkdtempSync(join(tmpdir(), 'seed-study-'));
const log = (line) => process.stderr.write(`${line}\n`);

const runs = [];
try {
  for (const seed of seeds) {
    const args = [
      cli,
      'train',
      '--recipe',
      values.recipe,
      '--seed',
      String(seed),
      '--data',
      values.data === 'embedded' ? 'embedded' : resolve(values.data),
    ];
    args.push('--out', join(work, `seed-${seed}.safetensors`), '--json');
    if (values.epochs) args.push('--epochs', values.epochs);
    const run = spawnSync(process.execPath, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const last = run.stdout.trim().split('\n').at(-1) ?? '';
    const result = last.startsWith('{') ? JSON.parse(last) : undefined;
    if (run.status !== 0 || typeof result?.test_accuracy !== 'number') {
      throw new Error(`seed ${seed}: exit ${run.status}: ${last}`);
    }
    runs.push({ seed, test_accuracy: result.test_accuracy });
    log(`seed ${seed}: ${(100 * result.test_accuracy).toFixed(2)}%`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const accuracies = runs.map((r) => r.test_accuracy);
const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
const std =
  accuracies.length > 1
    ? Math.sqrt(accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / (accuracies.length - 1))
    : 0;
const min = Math.min(...accuracies);
const max = Math.max(...accuracies);
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ recipe: values.recipe, root, runs, mean, std, min, max })}\n`,
  );
} else {
  const pct = (x) => `${(100 * x).toFixed(2)}%`;
  process.stdout.write(
    `${values.recipe}, seeds ${seeds.join(',')}: mean ${pct(mean)} ± ${(100 * std).toFixed(2)} (sample std), min ${pct(min)}, max ${pct(max)}\n`,
  );
}
