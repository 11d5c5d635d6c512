import { compile, Rng, type Tensor, tensor, zerosLike } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  BatchNorm1d,
  Conv2d,
  crossEntropy,
  Embedding,
  LayerNorm,
  Linear,
  type Optimizer,
  ReLU,
  RMSprop,
  Sequential,
  SGD,
} from '../src/index.js';

// Parameters, a compiled step's gradients and the optimisers' buffers live in
// the kernels' memory, where the products and the fused update work on them
// in place; the numbers are those of plain arrays, bit for bit.

/** The raw bytes of a tensor's own values (a pinned array is a view of the whole memory). */
const bytesOf = (t: Tensor) =>
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();

/** The per-parameter buffers of an optimiser (moments, momentum), by state-dict name. */
const perParameter = (opt: Optimizer) =>
  Object.entries((opt as unknown as { buffers(): Record<string, Tensor> }).buffers()).filter(
    ([name]) => name.startsWith('params.'),
  );

const OPTIMISERS: [string, (ps: Tensor[]) => Optimizer][] = [
  ['Adam', (ps) => new Adam(ps, { lr: 1e-2, weightDecay: 1e-3 })],
  ['AdamW', (ps) => new AdamW(ps, { lr: 1e-2 })],
  ['SGD', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })],
  ['RMSprop', (ps) => new RMSprop(ps, { lr: 1e-3, momentum: 0.5, centered: true })],
];

function mlp(seed: number): Sequential {
  const rng = new Rng(seed);
  return new Sequential(
    new Linear(64, 16, { rng, init: 'he' }),
    new ReLU(),
    new Linear(16, 12, { rng }),
    new ReLU(),
    new Linear(12, 10, { rng, init: 'he' }),
  );
}

/** The same model with every parameter moved to a plain array (what parameters were before). */
function unpinned(model: Sequential): Sequential {
  for (const layer of model.layers) {
    if (!(layer instanceof Linear)) continue;
    const plain = (p: Tensor) => tensor(p.data.slice(), { shape: [...p.shape] }).requireGrad();
    const fields = layer as unknown as { weight: Tensor; bias: Tensor | null };
    fields.weight = plain(layer.weight);
    if (layer.bias) fields.bias = plain(layer.bias);
  }
  return model;
}

/** An optimiser whose buffers are plain arrays. */
function plainBuffers(opt: Optimizer): Optimizer {
  for (const [, b] of perParameter(opt)) {
    expect(b.isPinned()).toBe(true);
  }
  const replace = opt as unknown as Record<string, unknown>;
  for (const key of ['m', 'v', 'momentumBuffers', 'squareAvg', 'gradAvg']) {
    const list = replace[key];
    if (Array.isArray(list)) replace[key] = list.map((t: Tensor) => zerosLike(t));
  }
  for (const [, b] of perParameter(opt)) expect(b.isPinned()).toBe(false);
  return opt;
}

function batches(n: number): [Tensor, Tensor][] {
  const rng = new Rng(11);
  return Array.from({ length: n }, () => [
    tensor(
      Float32Array.from({ length: 32 * 64 }, () => (rng.float() < 0.3 ? rng.normal() : 0)),
      { shape: [32, 64] },
    ),
    tensor(Int32Array.from({ length: 32 }, () => rng.int(10))),
  ]);
}

function train(model: Sequential, opt: Optimizer, compiled: boolean, data: [Tensor, Tensor][]) {
  const step = (x: Tensor, y: Tensor) => {
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss;
  };
  const run = compiled ? compile(step) : step;
  for (const [x, y] of data) run(x, y);
  return model;
}

describe('parameters and optimiser state in the kernels’ memory', () => {
  it("every layer's parameters are pinned leaves that require a gradient", () => {
    const layers = [
      new Linear(5, 3, { rng: 1 }),
      new Linear(5, 3, { rng: 1, init: 'he' }),
      new Conv2d(2, 4, 3, { rng: 1 }),
      new Embedding(7, 4, { rng: 1, paddingIdx: 0 }),
      new BatchNorm1d(6),
      new LayerNorm([6]),
    ];
    for (const layer of layers) {
      const ps = layer.parameters();
      expect(ps.length).toBeGreaterThan(0);
      for (const p of ps) {
        expect(p.isPinned()).toBe(true);
        expect(p.requiresGrad).toBe(true);
        expect(p.node).toBeNull();
      }
    }
    // The values are the initialiser's: the embedding's padding row is still zero.
    const e = new Embedding(7, 4, { rng: 1, paddingIdx: 2 });
    expect(Array.from(e.weight.data.subarray(8, 12))).toEqual([0, 0, 0, 0]);
  });

  for (const [name, make] of OPTIMISERS) {
    it(`${name} keeps its per-parameter buffers pinned, through loadStateDict too`, () => {
      const opt = make(mlp(1).parameters());
      const buffers = perParameter(opt);
      expect(buffers.length).toBeGreaterThanOrEqual(6);
      for (const [, b] of buffers) expect(b.isPinned()).toBe(true);
      opt.loadStateDict(opt.stateDict());
      for (const [, b] of perParameter(opt)) expect(b.isPinned()).toBe(true);
    });

    it(`${name}: a compiled step leaves pinned gradients and gives the bits of plain arrays, and of eager`, () => {
      const data = batches(4);
      const pinnedModel = mlp(5);
      const pinnedOpt = make(pinnedModel.parameters());
      train(pinnedModel, pinnedOpt, true, data);
      for (const p of pinnedModel.parameters()) {
        expect(p.isPinned()).toBe(true);
        expect(p.grad?.isPinned()).toBe(true);
      }

      const plainModel = unpinned(mlp(5));
      const plainOpt = plainBuffers(make(plainModel.parameters()));
      train(plainModel, plainOpt, true, data);
      for (const p of plainModel.parameters()) expect(p.isPinned()).toBe(false);

      const eagerModel = mlp(5);
      const eagerOpt = make(eagerModel.parameters());
      train(eagerModel, eagerOpt, false, data);

      const pinnedParams = pinnedModel.parameters().map(bytesOf);
      expect(plainModel.parameters().map(bytesOf)).toEqual(pinnedParams);
      expect(eagerModel.parameters().map(bytesOf)).toEqual(pinnedParams);
      const state = (opt: Optimizer) => perParameter(opt).map(([, b]) => bytesOf(b));
      expect(state(plainOpt)).toEqual(state(pinnedOpt));
      expect(state(eagerOpt)).toEqual(state(pinnedOpt));
      expect(pinnedModel.parameters().map((p) => bytesOf(p.grad!))).toEqual(
        eagerModel.parameters().map((p) => bytesOf(p.grad!)),
      );
    });
  }
});
