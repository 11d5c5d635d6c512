// Two builds of neurite against each other in one process: the compiled training
// step of bench/run.mjs's small CNN (conv 5×5×8 → ReLU → max pool → conv 5×5×16 →
// ReLU → max pool → dense 10; Adam, cross-entropy, batch 64), from the built
// packages of two checkouts, round by round in alternating order, so that other
// work on a shared machine falls on both alike. Per step: CPU time (every thread
// of the process) and wall time; the figure to read is the median over rounds of
// B's time over A's, taken round by round. Both builds must compute the same
// losses (the script says whether they do).
// Usage, each checkout built (`pnpm build`):
//   node bench/ab.mjs --a DIR --b DIR [--threads N] [--rounds N] [--slice MS]
// e.g. a checkout of an earlier commit: git archive <commit> | tar -x -C /tmp/before,
// then in it `pnpm install --offline && pnpm build`.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { smallCnn } from './lib/small-cnn.mjs';

const { values: flag } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '30' },
    slice: { type: 'string', default: '150' },
  },
});
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
  const model = smallCnn(nn, rng);
  const optimizer = new nn.Adam(model.parameters(), { lr: 1e-3 });
  const step = T.compile((x, y) => {
    optimizer.zeroGrad();
    const loss = nn.crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  });
  // MNIST-like batches: about 80% of pixels exactly zero.
  const data = new T.Rng(2);
  const batches = Array.from({ length: 8 }, () => {
    const x = new Float32Array(64 * 784);
    for (let i = 0; i < x.length; i++) x[i] = data.float() < 0.19 ? data.float() : 0;
    const y = Int32Array.from({ length: 64 }, () => data.int(10));
    return { x: T.tensor(x, { shape: [64, 1, 28, 28] }), y: T.tensor(y, { shape: [64] }) };
  });
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
    bench: 'small CNN training step, batch 64, B against A',
    threads,
    rounds,
    A: { dir: flag.a, ...per(0) },
    B: { dir: flag.b, ...per(1) },
    'CPU/step B÷A (median of rounds)': +ratio('cpu').toFixed(3),
    'wall/step B÷A (median of rounds)': +ratio('wall').toFixed(3),
    'same losses': builds[0].losses.every((l, i) => l === builds[1].losses[i]),
  }),
);
