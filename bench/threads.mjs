// 1 → 2 threads on neurite's kernels, in one process: inference at batch 1000
// (784-16-16-10, ReLU), the training step of the CNN example
// (examples/src/cnn-model.ts: conv 3×3×32 → batch norm → ReLU → max pool →
// conv 3×3×64 → batch norm → ReLU → max pool → dropout → dense 10; Adam,
// cross-entropy, batch 64) and that of bench/run.mjs's small CNN (conv 5×5×8
// → ReLU → max pool → conv 5×5×16 → ReLU → max pool → dense 10; the same
// training), all compiled, on MNIST (synthetic if absent).
// The thread counts alternate round by round (1, 2, then 2, 1, …) so that
// other work on a shared machine falls on both alike; the figure is the ratio
// of the medians. CPU time per step says whether the second thread was used.
// With --quiet (Linux), a slice during which other processes used more than
// 0.15 of a core (/proc/stat's busy time less this process's CPU time) is
// measured again, for up to --patience seconds a benchmark: on a shared
// machine, 2 threads sharing a core with other work measure the other work.
// Usage, after `pnpm build`:
//   node bench/threads.mjs [--rounds N] [--quick] [--quiet] [--patience S] [--data DIR]
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as nn from '@neurite/nn';
import * as T from '@neurite/tensor';
import { adamStep } from './lib/adam-step.mjs';
import { loadData } from './lib/harness.mjs';
import { hasMnist } from './lib/idx.mjs';
import { smallCnn } from './lib/small-cnn.mjs';
import { ensureSyntheticMnist } from './lib/synthetic.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: flag } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    quick: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    patience: { type: 'string', default: '120' },
    data: { type: 'string', default: join(here, '..', '..', 'shared', 'datasets', 'mnist') },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flag.help) {
  console.log(
    'node bench/threads.mjs [--rounds N] [--quick] [--quiet] [--patience S] [--data DIR]\n\n' +
      'Times inference at batch 1000, the example CNN and the small CNN, compiled, on 1 and 2\n' +
      'threads alternately in one process, and prints the speed-up of each (the median ratio).\n' +
      '--quiet measures a slice again when other processes kept more than 0.15 of a core busy.',
  );
  process.exit(0);
}
const rounds = flag.quick ? 3 : Number(flag.rounds);
/** Seconds of steps per thread count per round. */
const slice = flag.quick ? 0.3 : 1.5;

const data = await loadData(
  hasMnist(flag.data) ? flag.data : ensureSyntheticMnist(tmpdir(), 1, T.Rng),
);
const cores = T.availableCores();
if (cores < 2) console.log(JSON.stringify({ note: `only ${cores} core available` }));

/** The CNN of examples/src/cnn-model.ts, as a spec. */
const cnnSpec = {
  name: 'mnist-cnn',
  input: [1, 28, 28],
  layers: [
    { type: 'conv2d', outChannels: 32, kernelSize: 3, bias: false },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'conv2d', outChannels: 64, kernelSize: 3, bias: false },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 10 },
  ],
};

function inference() {
  const rng = new T.Rng(1);
  const model = new nn.Sequential(
    new nn.Linear(784, 16, { rng, init: 'he' }),
    new nn.ReLU(),
    new nn.Linear(16, 16, { rng, init: 'he' }),
    new nn.ReLU(),
    new nn.Linear(16, 10, { rng, init: 'he' }),
  );
  const classify = T.compile((x) => T.noGrad(() => model.forward(x).argmax(-1)));
  // The test images pinned, as bench/run.mjs holds them: the products read them in place.
  const testX = T.tensor(data.testX.subarray(0, 10000 * 784)).pinMemory().data;
  const batches = Array.from({ length: 10 }, (_, i) =>
    T.tensor(testX.subarray(i * 1000 * 784, (i + 1) * 1000 * 784), { shape: [1000, 784] }),
  );
  let i = 0;
  return { samples: 1000, step: () => classify(batches[i++ % batches.length]) };
}

function cnnTraining(model = nn.buildModel(cnnSpec, { seed: 1 })) {
  model.train();
  const step = adamStep(T, nn, model);
  const batches = Array.from({ length: 20 }, (_, i) => ({
    x: T.tensor(data.trainX.subarray(i * 64 * 784, (i + 1) * 64 * 784), {
      shape: [64, 1, 28, 28],
    }),
    y: T.tensor(data.trainLabels.subarray(i * 64, (i + 1) * 64), { shape: [64] }),
  }));
  let i = 0;
  return {
    samples: 64,
    step: () => {
      const b = batches[i++ % batches.length];
      return step(b.x, b.y);
    },
  };
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Milliseconds every core together spent busy so far (/proc/stat), or undefined off Linux. */
function hostBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
    // user, nice, system, irq, softirq, steal: in clock ticks of 10 ms
    return [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + Number(f[i] ?? 0), 0) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Milliseconds of wall and CPU time per step, over steps filling `slice`
 * seconds, and the cores other processes kept busy meanwhile (undefined
 * where /proc/stat is missing).
 */
function measure(run) {
  let n = 0;
  const busy0 = hostBusyMs();
  const wall0 = performance.now();
  const cpu0 = cpuMs();
  do {
    run.step();
    n++;
  } while (performance.now() - wall0 < slice * 1000);
  const wall = performance.now() - wall0;
  const cpu = cpuMs() - cpu0;
  const busy1 = hostBusyMs();
  const others =
    busy0 === undefined || busy1 === undefined ? undefined : (busy1 - busy0 - cpu) / wall;
  return { wall: wall / n, cpu: cpu / n, others };
}

/** Cores other processes may keep busy during a slice that --quiet keeps. */
const QUIET = 0.15;

for (const [name, make] of [
  ['inference, batch 1000 (784-16-16-10)', inference],
  ['CNN training step, batch 64 (examples/src/cnn-model.ts)', () => cnnTraining()],
  [
    'small CNN training step, batch 64 (bench/run.mjs --recipes cnn)',
    () => cnnTraining(smallCnn(nn, new T.Rng(1))),
  ],
]) {
  const run = make();
  const threads = [1, Math.min(2, cores)];
  const times = { 1: [], 2: [] };
  const cpu = { 1: [], 2: [] };
  for (const t of threads) {
    T.setThreads(t);
    for (let w = 0; w < 5; w++) run.step(); // compile, grow the arena, start the worker
  }
  let dropped = 0;
  const deadline = performance.now() + Number(flag.patience) * 1000;
  for (let r = 0; r < rounds; r++) {
    for (const t of r % 2 ? [...threads].reverse() : threads) {
      T.setThreads(t);
      let m = measure(run);
      while (flag.quiet && m.others > QUIET && performance.now() < deadline) {
        dropped++;
        m = measure(run);
      }
      times[t].push(m.wall);
      cpu[t].push(m.cpu);
    }
  }
  const [one, two] = [median(times[1]), median(times[threads[1]])];
  console.log(
    JSON.stringify({
      bench: name,
      rounds,
      'ms/step 1 thread': +one.toFixed(3),
      'ms/step 2 threads': +two.toFixed(3),
      'samples/s 1 thread': Math.round((run.samples * 1000) / one),
      'samples/s 2 threads': Math.round((run.samples * 1000) / two),
      'speed-up 1→2': +(one / two).toFixed(2),
      'CPU/wall 1 thread': +(median(cpu[1]) / one).toFixed(2),
      'CPU/wall 2 threads': +(median(cpu[threads[1]]) / two).toFixed(2),
      ...(flag.quiet ? { 'slices dropped (others busy)': dropped } : {}),
      'CPU ms/step 1 thread': +median(cpu[1]).toFixed(3),
      'CPU ms/step 2 threads': +median(cpu[threads[1]]).toFixed(3),
      'each round, ms 1 thread': times[1].map((x) => +x.toFixed(2)),
      'each round, ms 2 threads': times[threads[1]].map((x) => +x.toFixed(2)),
    }),
  );
}
T.setThreads(cores);
