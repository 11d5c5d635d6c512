// fit() against a hand-written compiled training loop: the same network (784-16-16-10, ReLU,
// cross-entropy, Adam), the same batches, in one process, rounds alternating between the two.
// Each round trains 10 epochs of 200 batches from a fresh model (trace included on both sides);
// wall and CPU time are both printed, CPU time being the steadier on a shared machine.
// One JSON line per figure. Run after a build: `pnpm --filter @neurite/nn bench`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/index.js', import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  console.error('bench: dist/ is missing; run `pnpm --filter @neurite/nn build` first');
  process.exit(1);
}
const { Adam, buildModel, crossEntropy, fit } = await import(dist.href);
const { compile, Rng, tensor } = await import('@neurite/tensor');

const quick = process.argv.includes('--quick');
const BATCH = 64;
const STEPS = quick ? 100 : 200;
const EPOCHS = quick ? 2 : 10;
const ROUNDS = quick ? 3 : 7;
const emit = (line) => console.log(JSON.stringify(line));

// MNIST-like inputs: ~19% of pixels ink, the rest exactly 0.
const rng = new Rng(1);
const batches = Array.from({ length: STEPS }, () => {
  const x = new Float32Array(BATCH * 784);
  for (let i = 0; i < x.length; i++) x[i] = rng.float() < 0.19 ? rng.float() : 0;
  const y = Int32Array.from({ length: BATCH }, () => rng.int(10));
  return [tensor(x, { shape: [BATCH, 784] }), tensor(y, { dtype: 'int32' })];
});
// A loader over the prepared batches, so both sides see the very same tensors.
const loader = { length: STEPS, batchSize: BATCH, epoch: () => batches };

const spec = {
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation: 'relu', init: 'he' },
    { type: 'dense', units: 16, activation: 'relu', init: 'he' },
    { type: 'dense', units: 10 },
  ],
};

/** Wall and CPU milliseconds of `fn` (CPU time is steadier on a shared machine). */
async function timed(fn) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

async function handLoop() {
  const model = buildModel(spec, { seed: 1 });
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const step = compile((x, y) => {
    opt.zeroGrad();
    const out = model.forward(x);
    const loss = crossEntropy(out, y);
    loss.backward();
    opt.step();
    return { loss: loss.detach(), correct: out.detach().argmax(-1).eq(y).cast('float32').sum() };
  });
  return timed(async () => {
    for (let e = 0; e < EPOCHS; e++) {
      for (const [x, y] of loader.epoch(e)) {
        const r = step(x, y);
        if (!Number.isFinite(r.loss.item())) throw new Error('diverged');
        r.correct.item();
      }
    }
  });
}

async function viaFit() {
  const model = buildModel(spec, { seed: 1 });
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  return timed(() =>
    fit(model, loader, {
      loss: 'crossEntropy',
      optimizer: opt,
      metrics: ['accuracy'],
      epochs: EPOCHS,
    }),
  );
}

const runs = { hand: [], fit: [] };
// Warm-up: traces, JIT.
await handLoop();
await viaFit();
for (let r = 0; r < ROUNDS; r++) {
  runs.hand.push(await handLoop());
  runs.fit.push(await viaFit());
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const steps = STEPS * EPOCHS;
const figures = {};
for (const [key, name] of [
  ['hand', 'hand-written compiled loop'],
  ['fit', 'fit (compiled, accuracy metric, per-batch NaN check)'],
]) {
  const wall = median(runs[key].map((r) => r.wall));
  const cpu = median(runs[key].map((r) => r.cpu));
  figures[key] = { wall, cpu };
  emit({
    bench: 'fit-overhead',
    loop: name,
    batch: BATCH,
    steps,
    rounds: ROUNDS,
    us_per_step: Math.round((wall * 10000) / steps) / 10,
    cpu_us_per_step: Math.round((cpu * 10000) / steps) / 10,
    samples_per_second: Math.round((steps * BATCH * 1000) / wall),
  });
}
emit({
  bench: 'fit-overhead',
  loop: 'ratio fit / hand-written (medians of rounds; both include the trace, fit its first-batch check too)',
  wall_ratio: Math.round((figures.fit.wall / figures.hand.wall) * 1000) / 1000,
  cpu_ratio: Math.round((figures.fit.cpu / figures.hand.cpu) * 1000) / 1000,
});
