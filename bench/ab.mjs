// Two builds of neurite against each other in one process: a compiled training
// step (Adam, cross-entropy, batch 64) of bench/run.mjs's small CNN (conv 5×5×8 →
// ReLU → max pool → conv 5×5×16 → ReLU → max pool → dense 10; --model cnn, the
// default) or of its modern 784-16-16-10 MLP (ReLU; --model mlp, on the first
// MNIST training images when --data holds them), from the built packages of two
// checkouts, round by round in alternating order, so that other
// work on a shared machine falls on both alike. Per step: CPU time (every thread
// of the process) and wall time; the figure to read is the median over rounds of
// B's time over A's, taken round by round. Both builds must compute the same
// losses (the script says whether they do).
// Usage, each checkout built (`pnpm build`):
//   node bench/ab.mjs --a DIR --b DIR [--model cnn|mlp] [--threads N] [--rounds N] [--slice MS]
//     [--data DIR (MNIST; default <repo>/../shared/datasets/mnist)]
// e.g. a checkout of an earlier commit: git archive <commit> | tar -x -C /tmp/before,
// then in it `pnpm install --offline && pnpm build`.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { adamStep } from './lib/adam-step.mjs';
import { findIdx, MNIST_FILES, readIdx } from './lib/idx.mjs';
import { smallCnn } from './lib/small-cnn.mjs';

const { values: flag } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '30' },
    slice: { type: 'string', default: '150' },
    model: { type: 'string', default: 'cnn' },
    help: { type: 'boolean', short: 'h', default: false },
    data: {
      type: 'string',
      default: join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'mnist'),
    },
  },
});
if (flag.help) {
  console.log(
    'node bench/ab.mjs --a DIR --b DIR [--model cnn|mlp] [--threads N] [--rounds N] [--slice MS] [--data DIR]\n\n' +
      'Times the compiled training step of two built checkouts alternately in one process and\n' +
      "prints B's CPU and wall time over A's (median over rounds), and whether their losses agree.",
  );
  process.exit(0);
}
if (flag.model !== 'cnn' && flag.model !== 'mlp')
  throw new Error(`--model: '${flag.model}' is not cnn or mlp`);
const mlp = flag.model === 'mlp';

/**
 * The MLP's batches: 16 batches of 64 MNIST training images in pinned memory, as
 * the bench's loader gathers them (the first layer's cost follows where an
 * image's non-zeros are). The CNN's, and the MLP's without the files: 8
 * batches of random images, about 80% zeros.
 */
function batchesOf(T) {
  const imagesAt = findIdx(flag.data, MNIST_FILES.trainImages);
  const labelsAt = findIdx(flag.data, MNIST_FILES.trainLabels);
  if (mlp && imagesAt && labelsAt) {
    const pixels = readIdx(imagesAt).data;
    const labels = readIdx(labelsAt).data;
    return Array.from({ length: 16 }, (_, b) => {
      const x = T.allocate('float32', 64 * 784, { pinMemory: true });
      for (let i = 0; i < x.length; i++) x[i] = pixels[b * 64 * 784 + i] / 255;
      const y = Int32Array.from(labels.subarray(b * 64, (b + 1) * 64));
      return { x: T.tensor(x, { shape: [64, 784] }), y: T.tensor(y, { shape: [64] }) };
    });
  }
  const data = new T.Rng(2);
  return Array.from({ length: 8 }, () => {
    const x = new Float32Array(64 * 784);
    for (let i = 0; i < x.length; i++) x[i] = data.float() < 0.19 ? data.float() : 0;
    const y = Int32Array.from({ length: 64 }, () => data.int(10));
    const shape = mlp ? [64, 784] : [64, 1, 28, 28];
    return { x: T.tensor(x, { shape }), y: T.tensor(y, { shape: [64] }) };
  });
}
if (!flag.a || !flag.b) throw new Error('--a and --b: the two checkouts to compare');
const threads = Number(flag.threads);
const rounds = Number(flag.rounds);
const slice = Number(flag.slice);

async function load(root) {
  const dist = (pkg) =>
    pathToFileURL(join(resolve(root), 'packages', pkg, 'dist', 'index.js')).href;
  const T = await import(dist('tensor'));
  const nn = await import(dist('nn'));
  T.setThreads(threads);
  const rng = new T.Rng(1);
  const model = mlp
    ? new nn.Sequential(
        new nn.Linear(784, 16, { rng, init: 'he' }),
        new nn.ReLU(),
        new nn.Linear(16, 16, { rng, init: 'he' }),
        new nn.ReLU(),
        new nn.Linear(16, 10, { rng, init: 'he' }),
      )
    : smallCnn(nn, rng);
  const step = adamStep(T, nn, model);
  const batches = batchesOf(T);
  let i = 0;
  const run = () => {
    const b = batches[i++ % batches.length];
    return step(b.x, b.y);
  };
  const losses = Array.from({ length: 30 }, () => run().item()); // compile, warm up
  return { T, run, losses };
}

const builds = [await load(flag.a), await load(flag.b)];
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const times = builds.map(() => ({ cpu: [], wall: [] }));
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 ? [1, 0] : [0, 1]) {
    const { T, run } = builds[k];
    T.setThreads(threads);
    let n = 0;
    const c0 = cpuMs();
    const t0 = performance.now();
    do {
      run();
      n++;
    } while (performance.now() - t0 < slice);
    times[k].wall.push((performance.now() - t0) / n);
    times[k].cpu.push((cpuMs() - c0) / n);
  }
}
const ratio = (what) => median(times[1][what].map((b, r) => b / times[0][what][r]));
const per = (k) => ({
  'ms CPU/step': +median(times[k].cpu).toFixed(3),
  'ms wall/step': +median(times[k].wall).toFixed(3),
  'CPU/wall': +(median(times[k].cpu) / median(times[k].wall)).toFixed(2),
});
console.log(
  JSON.stringify({
    bench: `${mlp ? '784-16-16-10 MLP' : 'small CNN'} training step, batch 64, B against A`,
    threads,
    rounds,
    A: { dir: flag.a, ...per(0) },
    B: { dir: flag.b, ...per(1) },
    'CPU/step B÷A (median of rounds)': +ratio('cpu').toFixed(3),
    'wall/step B÷A (median of rounds)': +ratio('wall').toFixed(3),
    'same losses': builds[0].losses.every((l, i) => l === builds[1].losses[i]),
  }),
);
