// Trains the CNN of cnn-model.ts on MNIST or Fashion-MNIST with fit, evaluates
// it on the test set, saves a checkpoint, reloads it and evaluates it again,
// then checks that a copy resumed from the checkpoint trains on bit for bit.
//   pnpm cnn --data ../../shared/datasets/mnist --epochs 8
import { parseArgs } from 'node:util';
import { DataLoader, Subset } from '@neurite/data';
import { loadMnist } from '@neurite/data/node';
import type { Module } from '@neurite/nn';
import { Adam, buildModel, evaluate, fit, lambda, summary, warmupCosine } from '@neurite/nn';
import { loadCheckpoint, saveCheckpoint } from '@neurite/nn/node';
import { cnnSpec } from './cnn-model.js';

const { values: flag } = parseArgs({
  options: {
    data: { type: 'string', default: 'embedded' }, // a folder of IDX files, or the 10,000 embedded digits
    epochs: { type: 'string', default: '8' },
    seed: { type: 'string', default: '1' },
    limit: { type: 'string' }, // train on the first N training images only
    out: { type: 'string', default: 'cnn.safetensors' },
    resume: { type: 'string', default: '1' }, // epochs trained after the checkpoint, twice
  },
});
const [epochs, seed, resume] = [flag.epochs, flag.seed, flag.resume].map(Number) as number[];
const mnist = await loadMnist(flag.data);
const first = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const trainSet = flag.limit ? new Subset(mnist.train, first(Number(flag.limit))) : mnist.train;
// Images as [N, 1, 28, 28], the layout of the convolutions; tested 100 at a time (less memory).
const batches = {
  batchSize: 64,
  shuffle: true,
  seed,
  dropLast: true,
  imageLayout: 'nchw',
} as const;
const train = new DataLoader(trainSet, batches);
const test = new DataLoader(mnist.test, { batchSize: 100, imageLayout: 'nchw' });
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const accuracy = (m: Module) => evaluate(m, test, { metrics: ['accuracy'] }).accuracy!;

const model = buildModel(cnnSpec, { seed });
console.log(summary(model));
const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
const report = lambda({
  onEpochEnd: (l) =>
    console.log(
      `epoch ${l.epoch}/${epochs}: loss ${l.loss.toFixed(4)}, test accuracy ${pct(l.valAccuracy!)}, ${l.seconds.toFixed(1)} s`,
    ),
});
// Adam at 2e-3 decayed to 0 by warmupCosine, set before every batch.
await fit(model, train, {
  loss: 'crossEntropy',
  optimizer,
  epochs,
  validation: test,
  metrics: ['accuracy'],
  callbacks: [warmupCosine(), report],
});
const trained = accuracy(model);
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed, data: flag.data } });
const reloaded = accuracy((await loadCheckpoint(flag.out)).model);
console.log(`test accuracy ${pct(trained)}; reloaded from ${flag.out}: ${pct(reloaded)}`);
if (reloaded !== trained) throw new Error('the reloaded model does not give the same accuracy');

// A model built anew (other weights) loads the checkpoint: weights, batch-norm statistics,
// the dropout generator, Adam's state. It and the original train on alike.
const copy = buildModel(cnnSpec, { seed: seed! + 100 });
const copyOptimizer = new Adam(copy.parameters(), { lr: 2e-3 });
await loadCheckpoint(flag.out, { into: copy, optimizer: copyOptimizer });
// The schedule goes on where it stopped: its steps count from the first epoch, its peak given.
const onward = { epochs: epochs! + resume!, initialEpoch: epochs, loss: 'crossEntropy' } as const;
const schedule = warmupCosine({ peak: 2e-3 });
await fit(model, train, { ...onward, optimizer, callbacks: [schedule] });
await fit(copy, train, { ...onward, optimizer: copyOptimizer, callbacks: [schedule] });
const bits = (m: Module) => JSON.stringify(Object.values(m.stateDict()).map((t) => [...t.data]));
if (bits(model) !== bits(copy)) throw new Error('the resumed copy did not train as the original');
console.log(`resumed from ${flag.out} for ${resume} epoch(s): bit-identical in both copies`);
