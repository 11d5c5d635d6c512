// Ways of gathering neurite's modern-recipe batches, against each other in one
// process on one compiled 784-16-16-10 training step (Adam, cross-entropy,
// batch 64, the MNIST training set in a seeded random order):
// set: each float32 row of the scaled training set copied into a reused pinned
// buffer by TypedArray.set (the bench's harness before the loader path);
// loader: DataLoader(…) of the bytes, not pinned (JavaScript scales the bytes;
// a DataLoader's default, and the app's loader before it pinned);
// pinned loader: DataLoader({ pinMemory: true }) of the bytes (gathered in
// WebAssembly: what impl/neurite.mjs and the app run now). The loaders read a
// Subset in that order. The ways take turns slice by slice, in alternating
// order, so other work on a shared machine falls on all alike; the figures to
// read are the medians over rounds of the pinned loader's CPU time per step
// over each other way's. All feed the step the same bits (checked).
// Usage, after `pnpm build`:
//   node bench/gather-ab.mjs [--threads N] [--rounds N] [--slice MS] [--data DIR]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DataLoader, MnistSplit, Subset } from '@neurite/data';
import { loadMnistDir } from '@neurite/data/node';
import * as nn from '@neurite/nn';
import * as T from '@neurite/tensor';
import { adamStep } from './lib/adam-step.mjs';

const { values: flag } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '20' },
    slice: { type: 'string', default: '200' },
    data: {
      type: 'string',
      default: join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'mnist'),
    },
  },
});
T.setThreads(Number(flag.threads));
const { train } = await loadMnistDir(flag.data);
const W = 784;
const B = 64;
const n = train.count;
const order = new T.Rng(1).shuffle(Int32Array.from({ length: n }, (_, i) => i));
const labels = train.labels.data;

const rng = new T.Rng(1);
const model = new nn.Sequential(
  new nn.Linear(W, 16, { rng, init: 'he' }),
  new nn.ReLU(),
  new nn.Linear(16, 16, { rng, init: 'he' }),
  new nn.ReLU(),
  new nn.Linear(16, 10, { rng, init: 'he' }),
);
const step = adamStep(T, nn, model);

/** A: the scaled training set (188 MB), rows copied by TypedArray.set into one pinned buffer. */
const trainX = Float32Array.from(train.pixels, (b) => b / 255);
const pinnedBatch = T.allocate('float32', B * W, { pinMemory: true });
function* setRows() {
  for (;;) {
    for (let start = 0; start + B <= n; start += B) {
      for (let i = 0; i < B; i++) {
        const row = order[start + i];
        pinnedBatch.set(trainX.subarray(row * W, (row + 1) * W), i * W);
      }
      yield pinnedBatch;
    }
  }
}
/** The loader's path over the same order, pinned or not. */
function* loaderRows(pinMemory) {
  const split = new MnistSplit(train.pixels, train.labels, 28, 28);
  const loader = new DataLoader(new Subset(split, order), {
    batchSize: B,
    dropLast: true,
    pinMemory,
  });
  for (;;) for (const [images] of loader.epoch(0)) yield images.data;
}
const names = ['set', 'loader', 'pinned loader'];
const ways = [setRows(), loaderRows(false), loaderRows(true)];
const at = names.map(() => 0);
const next = (k) => {
  const x = ways[k].next().value;
  const start = at[k];
  at[k] = (at[k] + B) % (Math.floor(n / B) * B);
  return { x, rows: order.subarray(start, start + B) };
};
const bitsOf = (x) => new Uint32Array(x.buffer, x.byteOffset, x.length);
for (let b = 0; b < 50; b++) {
  const [want, ...others] = names.map((_, k) => bitsOf(next(k).x));
  if (!others.every((got) => got.every((v, i) => v === want[i])))
    throw new Error(`batch ${b}: the ways gathered different bits`);
}
const run = (k, withStep) => {
  const { x, rows } = next(k);
  const y = Int32Array.from(rows, (i) => labels[i]);
  if (withStep) step(T.tensor(x, { shape: [B, W] }), T.tensor(y, { shape: [B] }));
};
for (let i = 0; i < 150; i++) run(i % names.length, true);

const cpuUs = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const rounds = Number(flag.rounds);
const slice = Number(flag.slice);
const result = {};
const pinned = names.length - 1;
for (const withStep of [false, true]) {
  const times = names.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const turn = names.map((_, k) => k);
    for (const k of r % 2 ? turn.reverse() : turn) {
      let count = 0;
      const c0 = cpuUs();
      const t0 = performance.now();
      do {
        run(k, withStep);
        count++;
      } while (performance.now() - t0 < slice);
      times[k].push((cpuUs() - c0) / count);
    }
  }
  const figures = {};
  names.forEach((name, k) => {
    figures[`${name}: µs CPU`] = +median(times[k]).toFixed(1);
  });
  names.slice(0, pinned).forEach((name, k) => {
    const ratio = median(times[pinned].map((p, r) => p / times[k][r]));
    figures[`pinned loader ÷ ${name}`] = +ratio.toFixed(3);
  });
  result[withStep ? 'gather + compiled step' : 'gather alone'] = figures;
}
console.log(JSON.stringify({ node: process.version, threads: T.getThreads(), rounds, ...result }));
