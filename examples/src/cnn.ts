// Trains the CNN of cnn-model.ts on MNIST or Fashion-MNIST with fit, evaluates
// it on the test set, saves a checkpoint, reloads it and evaluates it again.
//   pnpm cnn --data ../../shared/datasets/mnist --epochs 8
import { parseArgs } from 'node:util';
import { DataLoader, Subset } from '@neurite/data';
import { loadMnist } from '@neurite/data/node';
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
const [epochs, seed, resume] = [Number(flag.epochs), Number(flag.seed), Number(flag.resume)];
const mnist = await loadMnist(flag.data);
const trainSet = flag.limit
  ? new Subset(
      mnist.train,
      Int32Array.from({ length: Number(flag.limit) }, (_, i) => i),
    )
  : mnist.train;
// Images as [N, 1, 28, 28], the layout of the convolutions.
const train = new DataLoader(trainSet, {
  batchSize: 64,
  shuffle: true,
  seed,
  dropLast: true,
  imageLayout: 'nchw',
});
// Evaluated 100 images at a time: larger batches raise the peak memory, not the speed.
const test = new DataLoader(mnist.test, { batchSize: 100, imageLayout: 'nchw' });

const model = buildModel(cnnSpec, { seed });
console.log(summary(model));
const optimizer = new Adam(model.parameters(), { lr: 2e-3 });
await fit(model, train, {
  loss: 'crossEntropy',
  optimizer,
  epochs,
  validation: test,
  metrics: ['accuracy'],
  callbacks: [
    warmupCosine(), // from 2e-3 down to 0 over the run, set before every batch
    lambda({
      onEpochEnd: (l) =>
        console.log(
          `epoch ${l.epoch}/${epochs}: loss ${l.loss.toFixed(4)}, test accuracy ${pct(l.valAccuracy!)}, ${l.seconds.toFixed(1)} s`,
        ),
    }),
  ],
});

const trained = evaluate(model, test, { metrics: ['accuracy'] }).accuracy!;
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed, data: flag.data } });
const reloaded = evaluate((await loadCheckpoint(flag.out)).model, test, { metrics: ['accuracy'] });
console.log(`test accuracy ${pct(trained)}; reloaded from ${flag.out}: ${pct(reloaded.accuracy!)}`);
if (reloaded.accuracy !== trained)
  throw new Error('the reloaded model does not give the same accuracy');

// Resume: a model constructed anew and loaded from the checkpoint (weights, batch-norm
// statistics, dropout generator, Adam state) trains on exactly as the original does.
const copy = buildModel(cnnSpec, { seed: seed + 100 });
const copyOptimizer = new Adam(copy.parameters(), { lr: 2e-3 });
await loadCheckpoint(flag.out, { into: copy, optimizer: copyOptimizer });
const onward = (m: typeof model, opt: Adam) =>
  fit(m, train, {
    loss: 'crossEntropy',
    optimizer: opt,
    epochs: epochs + resume,
    initialEpoch: epochs,
    callbacks: [warmupCosine()],
  });
await onward(model, optimizer);
await onward(copy, copyOptimizer);
const bits = (m: typeof model) =>
  JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.data)));
const identical = bits(model) === bits(copy);
console.log(
  `resumed from ${flag.out} for ${resume} epoch(s): ${identical ? 'bit-identical' : 'DIFFERENT'} in both copies`,
);
if (!identical) throw new Error('the resumed copy did not train as the original did');

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
