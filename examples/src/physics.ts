// A physics-informed fit of u″ + u = 0 on [0, 2π] with u(0) = 0, u′(0) = 1
// (the solution is sin x), written the JAX way: the collocation points are
// plain constants, the network's parameters are closed over, and u″ is grad
// of grad. Adam first, then L-BFGS finishes. Saves after Adam, reloads and
// resumes, checking that resuming matches training straight through.
//   pnpm physics --steps 1000 --lbfgs 500
import { parseArgs } from 'node:util';
import { Adam, Dense, LBFGS, type Module, Sequential } from '@neurite/nn';
import { loadCheckpoint, saveCheckpoint } from '@neurite/nn/node';
import { grad, linspace, type Tensor, zeros } from '@neurite/tensor';

const { values: flag } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' }, // Adam steps
    lbfgs: { type: 'string', default: '500' }, // L-BFGS iterations after them
    resume: { type: 'string', default: '20' }, // Adam steps trained after the checkpoint, twice
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'physics.safetensors' },
  },
});
const [steps, lbfgs, resume, seed] = [flag.steps, flag.lbfgs, flag.resume, flag.seed].map(
  Number,
) as [number, number, number, number];

const dtype = 'float64';
const xs = linspace(0, 2 * Math.PI, 64, { dtype }).reshape([64, 1]); // collocation points
const zero = zeros([1, 1], { dtype });
const network = (rng: number) =>
  new Sequential(
    new Dense(1, 32, { activation: 'tanh', rng, dtype }),
    new Dense(32, 32, { activation: 'tanh', rng: rng + 1, dtype }),
    new Dense(32, 1, { rng: rng + 2, dtype }),
  );
// The residual of the equation and of the two initial conditions, squared.
const physicsLoss = (net: Module) => {
  const u = (x: Tensor) => net.forward(x) as Tensor;
  const du = grad((x: Tensor) => u(x).sum());
  const d2u = grad((x: Tensor) => du(x).sum());
  const residual = d2u(xs).add(u(xs)).square().mean();
  return residual.add(u(zero).square().sum()).add(du(zero).sub(1).square().sum());
};
const adam = (net: Module, optimizer: Adam, n: number) => {
  for (let i = 0; i < n; i++) {
    optimizer.zeroGrad();
    physicsLoss(net).backward();
    optimizer.step();
  }
};
const bits = (m: Module) =>
  JSON.stringify(Object.values(m.stateDict()).map((t) => Array.from(t.data)));

const model = network(seed);
const optimizer = new Adam(model.parameters(), { lr: 3e-3 });
adam(model, optimizer, steps);
const afterAdam = physicsLoss(model).item();
await saveCheckpoint(flag.out, model, { optimizer, meta: { steps, seed } });

const reloaded = network(seed + 100); // other weights, overwritten by the checkpoint
const reloadedOptimizer = new Adam(reloaded.parameters(), { lr: 3e-3 });
await loadCheckpoint(flag.out, { into: reloaded, optimizer: reloadedOptimizer });
if (physicsLoss(reloaded).item() !== afterAdam)
  throw new Error('the reloaded model does not give the same outputs');
adam(model, optimizer, resume);
adam(reloaded, reloadedOptimizer, resume);
const identical = bits(model) === bits(reloaded);

const finisher = new LBFGS(model.parameters(), {
  maxIter: lbfgs,
  lineSearch: 'strongWolfe',
  toleranceChange: 1e-15,
});
finisher.step(() => {
  const loss = physicsLoss(model);
  loss.backward();
  return loss;
});
const grid = linspace(0, 2 * Math.PI, 1001, { dtype }).reshape([1001, 1]);
const maxError = (model.forward(grid) as Tensor).sub(grid.sin()).abs().max().item();
console.log(
  `physics loss after Adam ${afterAdam.toExponential(3)}, after ${finisher.nIter} L-BFGS iterations ${physicsLoss(model).item().toExponential(3)}`,
);
console.log(`max |u − sin| on [0, 2π]: ${maxError.toExponential(3)}`);
console.log(
  `resumed from ${flag.out} for ${resume} steps: ${identical ? 'bit-identical' : 'DIFFERENT'} to training straight through`,
);
if (!identical)
  throw new Error('resuming from the checkpoint did not match training straight through');
