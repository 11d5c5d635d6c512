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

// The rule to recover: P(y = 1 | x) = sigmoid(x · w + b).
const [trueW, trueB] = [tensor([[2], [-3]]), 0.5];
const x = randn([n, 2], { rng: seed });
const y = rand([n, 1], { rng: seed + 1 })
  .lt(x.matmul(trueW).add(trueB).sigmoid())
  .cast('float32');
const t = Math.floor(n / 5); // the first fifth is the test set
const [xTest, yTest, xTrain, yTrain] = [
  x.narrow(0, 0, t),
  y.narrow(0, 0, t),
  x.narrow(0, t, n - t),
  y.narrow(0, t, n - t),
];

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
const bits = (m: Module) =>
  JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.data)));

const model = new Linear(2, 1, { rng: seed });
const optimizer = new Adam(model.parameters(), { lr: 0.05 });
await train(model, optimizer, epochs);
await saveCheckpoint(flag.out, model, { optimizer, meta: { epochs, seed } });

const reloaded = new Linear(2, 1, { rng: seed + 100 }); // other weights, overwritten by the checkpoint
const reloadedOptimizer = new Adam(reloaded.parameters(), { lr: 0.05 });
await loadCheckpoint(flag.out, { into: reloaded, optimizer: reloadedOptimizer });
if (
  bits(model) !== bits(reloaded) ||
  accuracy(model.forward(xTest)) !== accuracy(reloaded.forward(xTest))
)
  throw new Error('the reloaded model does not give the same outputs');
const acc = accuracy(model.forward(xTest));

// Resume: the reloaded copy and the original both train `resume` more epochs.
await train(model, optimizer, epochs + resume, epochs);
await train(reloaded, reloadedOptimizer, epochs + resume, epochs);
const identical = bits(model) === bits(reloaded);

const [w, b] = [model.weight.toArray() as number[][], model.bias!.item()];
console.log(
  `learned w = [${w[0]!.map((v) => v.toFixed(3)).join(', ')}], b = ${b.toFixed(3)}; true w = [2, -3], b = 0.5`,
);
console.log(
  `test accuracy ${pct(acc)} (the true rule: ${pct(accuracy(xTest.matmul(trueW).add(trueB)))})`,
);
console.log(
  `resumed from ${flag.out} for ${resume} epochs: ${identical ? 'bit-identical' : 'DIFFERENT'} to training straight through`,
);
if (!identical)
  throw new Error('resuming from the checkpoint did not match training straight through');

function pct(v: number): string {
  return `${(v * 100).toFixed(2)}%`;
}
