// Logistic regression on generated data: labels drawn from a known linear rule
// through a sigmoid, fitted with binaryCrossEntropyWithLogits. Saves, reloads
// and resumes, checking that resuming matches training straight through.
//   pnpm logistic-regression --epochs 20
import { parseArgs } from 'node:util';
import { Adam, fit, Linear, type Module } from '@neurite/nn';
import { loadCheckpoint, saveCheckpoint } from '@neurite/nn/node';
import { rand, randn, type Tensor, tensor } from '@neurite/tensor';

const { values: flag } = parseArgs({
  options: {
    epochs: { type: 'string', default: '20' },
    resume: { type: 'string', default: '2' }, // epochs trained after the checkpoint, twice
    samples: { type: 'string', default: '4000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'logistic-regression.safetensors' },
  },
});
const [epochs, resume, n, seed] = [flag.epochs, flag.resume, flag.samples, flag.seed].map(
  Number,
) as [number, number, number, number];

// The rule to recover: P(y = 1 | x) = sigmoid(x · w + b); the first fifth is the test set.
const [trueW, trueB, t] = [tensor([[2], [-3]]), 0.5, Math.floor(n / 5)];
const x = randn([n, 2], { rng: seed });
const y = rand([n, 1], { rng: seed + 1 }).lt(x.matmul(trueW).add(trueB).sigmoid());
const [xTest, yTest] = [x.narrow(0, 0, t), y.narrow(0, 0, t).cast('float32')];
const [xTrain, yTrain] = [x.narrow(0, t, n - t), y.narrow(0, t, n - t).cast('float32')];

const train = (model: Module, optimizer: Adam, to: number, from = 0) =>
  fit(model, [xTrain, yTrain], {
    loss: 'binaryCrossEntropyWithLogits',
    optimizer,
    epochs: to,
    initialEpoch: from,
    batchSize: 64,
    seed,
  });
const accuracy = (logits: Tensor) =>
  logits.gt(0).cast('float32').eq(yTest).cast('float32').mean().item();
const bits = (m: Module) => JSON.stringify(Object.values(m.stateDict()).map((t) => [...t.data]));
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

const model = new Linear(2, 1, { rng: seed });
const optimizer = new Adam(model.parameters(), { lr: 0.05 });
await train(model, optimizer, epochs);
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed } });

// A model and optimiser made anew (other weights) load the checkpoint; both train on.
const copy = new Linear(2, 1, { rng: seed + 100 });
const copyOptimizer = new Adam(copy.parameters(), { lr: 0.05 });
await loadCheckpoint(flag.out, { into: copy, optimizer: copyOptimizer });
const [acc, reloadedAcc] = [accuracy(model.forward(xTest)), accuracy(copy.forward(xTest))];
await train(model, optimizer, epochs + resume, epochs);
await train(copy, copyOptimizer, epochs + resume, epochs);
if (bits(model) !== bits(copy)) throw new Error('the resumed copy did not train as the original');

const [w, b] = [model.weight.toArray() as number[][], model.bias!.item()];
console.log(
  `learned w = [${w[0]!.map((v) => v.toFixed(3)).join(', ')}], b = ${b.toFixed(3)}; true w = [2, -3], b = 0.5`,
);
console.log(
  `test accuracy ${pct(acc)} (the true rule: ${pct(accuracy(xTest.matmul(trueW).add(trueB)))}); reloaded from ${flag.out}: ${pct(reloadedAcc)}`,
);
console.log(`resumed for ${resume} epochs: bit-identical to training straight through`);
