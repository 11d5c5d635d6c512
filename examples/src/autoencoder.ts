// A dense autoencoder on MNIST digits (784 → 64 → 16 → 64 → 784), trained to
// reconstruct its input with mse. Saves, reloads and resumes, checking that
// resuming matches training straight through.
//   pnpm autoencoder --epochs 10
import { parseArgs } from 'node:util';
import { loadMnist } from '@neurite/data/node';
import { Adam, Dense, fit, type Module, mse, Sequential } from '@neurite/nn';
import { loadCheckpoint, saveCheckpoint } from '@neurite/nn/node';
import type { Tensor } from '@neurite/tensor';

const { values: flag } = parseArgs({
  options: {
    data: { type: 'string', default: 'embedded' }, // a folder of IDX files, or the 10,000 embedded digits
    epochs: { type: 'string', default: '10' },
    resume: { type: 'string', default: '1' }, // epochs trained after the checkpoint, twice
    limit: { type: 'string' }, // train on the first N training images only
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'autoencoder.safetensors' },
  },
});
const [epochs, resume, seed] = [flag.epochs, flag.resume, flag.seed].map(Number) as number[];
const mnist = await loadMnist(flag.data);
const all = mnist.train.images; // [N, 784] float32 in [0, 1]
const train = flag.limit ? all.narrow(0, 0, Number(flag.limit)) : all;
const test = mnist.test.images;

const autoencoder = (rng: number) =>
  new Sequential(
    new Dense(784, 64, { activation: 'relu', rng }),
    new Dense(64, 16, { activation: 'relu', rng: rng + 1 }), // the code: 16 numbers per digit
    new Dense(16, 64, { activation: 'relu', rng: rng + 2 }),
    new Dense(64, 784, { activation: 'sigmoid', rng: rng + 3 }),
  );
const run = (model: Module, optimizer: Adam, to: number, from = 0) =>
  fit(model, [train, train], {
    loss: 'mse',
    optimizer,
    epochs: to,
    initialEpoch: from,
    batchSize: 64,
    seed,
  });
const bits = (m: Module) => JSON.stringify(Object.values(m.stateDict()).map((t) => [...t.data]));
const error = (m: Module) => mse(m.forward(test) as Tensor, test).item();

const model = autoencoder(seed!);
const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
await run(model, optimizer, epochs!);
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed } });

// A model and optimiser made anew (other weights) load the checkpoint; both train on.
const copy = autoencoder(seed! + 100);
const copyOptimizer = new Adam(copy.parameters(), { lr: 2e-3 });
await loadCheckpoint(flag.out, { into: copy, optimizer: copyOptimizer });
const [trained, reloaded] = [error(model), error(copy)];
await run(model, optimizer, epochs! + resume!, epochs);
await run(copy, copyOptimizer, epochs! + resume!, epochs);
if (bits(model) !== bits(copy)) throw new Error('the resumed copy did not train as the original');

const meanDigit = mse(train.mean(0, true).broadcastTo(test.shape), test).item();
console.log(
  `test reconstruction mse ${trained.toFixed(5)} (the mean digit: ${meanDigit.toFixed(5)}); reloaded: ${reloaded.toFixed(5)}`,
);
console.log(`resumed for ${resume} epochs: bit-identical to training straight through`);
