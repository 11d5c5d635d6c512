import { compile, Rng, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  buildModel,
  CosineLR,
  crossEntropy,
  type ModelSpec,
  type Optimizer,
  quadraticCost,
  SGD,
} from '../src/index.js';

/** A training step as an app writes it: zero, forward, loss, backward, update. */
function trainStep(
  spec: ModelSpec,
  makeOpt: (params: Tensor[]) => Optimizer,
  loss: 'ce' | 'quadratic',
) {
  const model = buildModel(spec, { seed: 3 });
  const opt = makeOpt(model.parameters());
  const step = (x: Tensor, y: Tensor) => {
    opt.zeroGrad();
    const out = model.forward(x);
    const l = loss === 'ce' ? crossEntropy(out, y) : quadraticCost(out, y.cast('float32'));
    l.backward();
    opt.step();
    return l;
  };
  return { model, opt, step };
}

function data(seed: number, n: number, oneHot: boolean): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 784).map(() => (rng.float() < 0.2 ? rng.float() : 0));
  const labels = Int32Array.from({ length: n }, () => rng.int(10));
  const y = oneHot
    ? tensor(
        Float32Array.from({ length: n * 10 }, (_, i) =>
          labels[Math.floor(i / 10)] === i % 10 ? 1 : 0,
        ),
        {
          shape: [n, 10],
        },
      )
    : tensor(labels);
  return [tensor(x, { shape: [n, 784] }), y];
}

const mlp = (hidden: string, out: string): ModelSpec => ({
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation: hidden as 'relu' },
    { type: 'dense', units: 16, activation: hidden as 'relu' },
    { type: 'dense', units: 10, activation: out as 'relu' },
  ],
});

const withDropout: ModelSpec = {
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation: 'relu' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 10 },
  ],
};

const cases = [
  {
    name: 'dropout draws a fresh mask on every replayed step',
    spec: withDropout,
    opt: (p: Tensor[]) => new Adam(p),
    loss: 'ce' as const,
  },
  {
    name: 'modern: ReLU, cross-entropy, Adam',
    spec: mlp('relu', 'linear'),
    opt: (p: Tensor[]) => new Adam(p),
    loss: 'ce' as const,
  },
  {
    name: 'AdamW with a cosine schedule',
    spec: mlp('relu', 'linear'),
    opt: (p: Tensor[]) => new AdamW(p, { lr: 3e-3 }),
    loss: 'ce' as const,
  },
  {
    name: 'classic: sigmoid, quadratic cost, SGD',
    spec: mlp('sigmoid', 'sigmoid'),
    opt: (p: Tensor[]) => new SGD(p, { lr: 3 }),
    loss: 'quadratic' as const,
  },
  {
    name: 'SGD with Nesterov momentum and weight decay',
    spec: mlp('tanh', 'linear'),
    opt: (p: Tensor[]) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }),
    loss: 'ce' as const,
  },
];

describe('compiled training steps agree with eager ones bit for bit', () => {
  for (const c of cases) {
    it(c.name, () => {
      const eager = trainStep(c.spec, c.opt, c.loss);
      const traced = trainStep(c.spec, c.opt, c.loss);
      const step = compile(traced.step);
      const schedules = [
        new CosineLR(eager.opt, { tMax: 6 }),
        new CosineLR(traced.opt, { tMax: 6 }),
      ];
      for (let s = 0; s < 6; s++) {
        const [x, y] = data(s, s === 5 ? 7 : 16, c.loss === 'quadratic');
        const le = eager.step(x, y).item();
        const lc = (step(x, y) as Tensor).item();
        expect(lc, `step ${s}`).toBe(le);
        for (const schedule of schedules) schedule.step();
      }
      const a = eager.model.stateDict();
      const b = traced.model.stateDict();
      for (const key of Object.keys(a))
        expect(Array.from(b[key]!.data), key).toEqual(Array.from(a[key]!.data));
      expect(step.plans()).toHaveLength(2);
    });
  }
});
