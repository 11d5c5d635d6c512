// The CNN of examples/src/cnn-model.ts (the Keras convnet with batch norm,
// 34,922 parameters) written as a user writes it from the packages' READMEs:
// nn layers, a DataLoader of [N, 1, 28, 28] batches, Adam at batch 64,
// validation on the whole test set after every epoch. bench/memory.mjs runs it
// to measure memory; it prints one line per epoch.
//   node impl/memory-cnn.mjs --data DIR --mode fit|eager|loop [--epochs 1] [--limit N]
import { parseArgs } from 'node:util';
import { DataLoader, Subset } from '@neurite/data';
import { loadMnist } from '@neurite/data/node';
import {
  Adam,
  BatchNorm2d,
  Conv2d,
  crossEntropy,
  Dropout,
  evaluate,
  Flatten,
  fit,
  Linear,
  lambda,
  MaxPool2d,
  ReLU,
  Sequential,
} from '@neurite/nn';
import { compile } from '@neurite/tensor';

const { values: flag } = parseArgs({
  options: {
    data: { type: 'string' },
    mode: { type: 'string', default: 'fit' }, // fit (compiled), eager (fit, compile: false), loop (compile by hand)
    epochs: { type: 'string', default: '1' },
    limit: { type: 'string' },
  },
});
const epochs = Number(flag.epochs);
const mnist = await loadMnist(flag.data);
const train = flag.limit
  ? new Subset(
      mnist.train,
      Int32Array.from({ length: Number(flag.limit) }, (_, i) => i),
    )
  : mnist.train;
const loader = new DataLoader(train, {
  batchSize: 64,
  shuffle: true,
  seed: 1,
  dropLast: true,
  imageLayout: 'nchw',
});
const test = new DataLoader(mnist.test, { batchSize: 100, imageLayout: 'nchw' });
const rng = 1;
const model = new Sequential(
  new Conv2d(1, 32, 3, { bias: false, rng }),
  new BatchNorm2d(32),
  new ReLU(),
  new MaxPool2d(2),
  new Conv2d(32, 64, 3, { bias: false, rng: rng + 1 }),
  new BatchNorm2d(64),
  new ReLU(),
  new MaxPool2d(2),
  new Flatten(),
  new Dropout(0.25, { rng: rng + 2 }),
  new Linear(1600, 10, { rng: rng + 3 }),
);
const optimizer = new Adam(model.parameters(), { lr: 1e-3 });
const mb = () => Math.round(process.memoryUsage.rss() / 1048576);

if (flag.mode === 'loop') {
  const step = compile((x, y) => {
    optimizer.zeroGrad();
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  });
  for (let e = 0; e < epochs; e++) {
    model.train();
    for (const [x, y] of loader.epoch(e)) step(x, y);
    const { accuracy } = evaluate(model, test, { metrics: ['accuracy'] });
    console.log(`epoch ${e + 1}: test accuracy ${accuracy.toFixed(4)}, rss ${mb()} MB`);
  }
} else if (flag.mode === 'fit' || flag.mode === 'eager') {
  await fit(model, loader, {
    loss: 'crossEntropy',
    optimizer,
    epochs,
    validation: test,
    metrics: ['accuracy'],
    compile: flag.mode === 'fit',
    callbacks: [
      lambda({
        onEpochEnd: (l) =>
          console.log(
            `epoch ${l.epoch}: test accuracy ${l.valAccuracy.toFixed(4)}, rss ${mb()} MB`,
          ),
      }),
    ],
  });
} else throw new Error(`--mode: '${flag.mode}' is not one of fit, eager, loop`);
