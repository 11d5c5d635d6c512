// A physics-informed fit of u″ + u = 0 on [0, 2π] with u(0) = 0, u′(0) = 1
// (the solution is sin x), written the JAX way: the collocation points are
// plain constants, the network's parameters are closed over, and u″ is grad
// of grad. Adam first, then L-BFGS finishes. Halfway through each phase it
// saves a checkpoint (weights and optimiser state), loads it into a model and
// optimiser made anew, and trains both on: they must stay bit-identical.
//   pnpm physics --steps 1000 --lbfgs 500
import { parseArgs } from 'node:util';
import { Adam, Dense, LBFGS, type Module, Sequential } from '@neurite/nn';
import { loadCheckpoint, saveCheckpoint } from '@neurite/nn/node';
import { grad, linspace, type Tensor, zeros } from '@neurite/tensor';

const { values: flag } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' }, // Adam steps
    lbfgs: { type: 'string', default: '500' }, // L-BFGS iterations after them, 20 per step()
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'physics.safetensors' },
  },
});
const seed = Number(flag.seed);

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
// n Adam steps, or n L-BFGS steps (each runs 20 iterations, calling the closure as it needs).
const train = (net: Module, opt: Adam | LBFGS, n: number) => {
  const closure = () => {
    const loss = physicsLoss(net);
    loss.backward();
    return loss;
  };
  for (let i = 0; i < n; i++) {
    if (opt instanceof LBFGS) opt.step(closure);
    else {
      opt.zeroGrad();
      closure();
      opt.step();
    }
  }
};
const bits = (m: Module) => JSON.stringify(Object.values(m.stateDict()).map((t) => [...t.data]));

const model = network(seed);
// n steps of `optimizer` with a checkpoint halfway, resumed by a copy made anew (other weights).
const phase = async <O extends Adam | LBFGS>(optimizer: (net: Module) => O, n: number) => {
  const [opt, copy, half] = [optimizer(model), network(seed + 100), Math.floor(n / 2)];
  train(model, opt, half);
  await saveCheckpoint(flag.out, model, { optimizer: opt, meta: { seed, step: half } });
  const copyOpt = optimizer(copy);
  await loadCheckpoint(flag.out, { into: copy, optimizer: copyOpt });
  train(model, opt, n - half);
  train(copy, copyOpt, n - half);
  if (bits(model) !== bits(copy)) throw new Error(`${opt.type}: the resumed copy differs`);
  return opt;
};
await phase((net) => new Adam(net.parameters(), { lr: 3e-3 }), Number(flag.steps));
const afterAdam = physicsLoss(model).item();
const finisher = await phase(
  (net) => new LBFGS(net.parameters(), { lineSearch: 'strongWolfe', toleranceChange: 1e-15 }),
  Math.ceil(Number(flag.lbfgs) / 20),
);
const grid = linspace(0, 2 * Math.PI, 1001, { dtype }).reshape([1001, 1]);
const maxError = (model.forward(grid) as Tensor).sub(grid.sin()).abs().max().item();
console.log(
  `physics loss after Adam ${afterAdam.toExponential(3)}, after ${finisher.nIter} L-BFGS iterations ${physicsLoss(model).item().toExponential(3)}`,
);
console.log(`max |u − sin| on [0, 2π]: ${maxError.toExponential(3)}`);
console.log(`resumed from ${flag.out} halfway through Adam and through L-BFGS: bit-identical`);
