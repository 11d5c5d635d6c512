// The bench's two ways of gathering neurite's modern-recipe batches, against
// each other in one process on one compiled 784-16-16-10 training step (Adam,
// cross-entropy, batch 64, the MNIST training set in a seeded random order):
// A, each float32 row of the scaled training set copied into a reused pinned
// buffer by TypedArray.set (the harness before the loader path); B, the
// images gathered from the bytes by DataLoader({ pinMemory: true }) over a
// Subset in that order (what impl/neurite.mjs runs now). The two take turns
// slice by slice, in alternating order, so other work on a shared machine
// falls on both alike; the figure to read is the median over rounds of B's
// CPU time per step over A's. Both feed the step the same bits (checked).
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
/** B: the loader's path, pinned, over the same order. */
function* loaderRows() {
  const split = new MnistSplit(train.pixels, train.labels, 28, 28);
  const loader = new DataLoader(new Subset(split, order), {
    batchSize: B,
    dropLast: true,
    pinMemory: true,
  });
  for (;;) for (const [images] of loader.epoch(0)) yield images.data;
}
const ways = [setRows(), loaderRows()];
const at = [0, 0];
const next = (k) => {
  const x = ways[k].next().value;
  const start = at[k];
  at[k] = (at[k] + B) % (Math.floor(n / B) * B);
  return { x, y: labels.subarray(start, start + B) };
};
for (let b = 0; b < 50; b++) {
  const [a, l] = [next(0), next(1)];
  const same = new Uint32Array(a.x.buffer, a.x.byteOffset, a.x.length).every(
    (v, i) => v === new Uint32Array(l.x.buffer, l.x.byteOffset, l.x.length)[i],
  );
  if (!same) throw new Error(`batch ${b}: the two ways gathered different bits`);
}
const run = (k, withStep) => {
  const { x, y } = next(k);
  if (withStep) step(T.tensor(x, { shape: [B, W] }), T.tensor(Int32Array.from(y), { shape: [B] }));
};
for (let i = 0; i < 100; i++) run(i % 2, true);

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
for (const withStep of [false, true]) {
  const times = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? [1, 0] : [0, 1]) {
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
  const what = withStep ? 'gather + compiled step' : 'gather alone';
  result[what] = {
    'A: set() of float32 rows, µs CPU': +median(times[0]).toFixed(1),
    'B: pinned DataLoader from bytes, µs CPU': +median(times[1]).toFixed(1),
    'B÷A (median of rounds)': +median(times[1].map((b, r) => b / times[0][r])).toFixed(3),
  };
}
console.log(JSON.stringify({ node: process.version, threads: T.getThreads(), rounds, ...result }));
