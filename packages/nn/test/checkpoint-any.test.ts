import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, randn, type Tensor, tensor, zeros } from '@neurite/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  BatchNorm1d,
  buildModel,
  CheckpointError,
  CosineLR,
  checkpointBytes,
  crossEntropy,
  LayerNorm,
  Linear,
  type ModelSpec,
  Module,
  restoreCheckpoint,
  SGD,
  StepLR,
} from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'nn-ckpt-any-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A model no spec describes: two inputs, a buffer of its own, nested children. */
class TwoTower extends Module {
  left = new Linear(4, 6, { rng: 1 });
  right = [new Linear(3, 6, { rng: 2 }), new BatchNorm1d(6)];
  norm = new LayerNorm(6);
  head = new Linear(6, 3, { rng: 3 });
  readonly steps = this.registerBuffer('steps', zeros([], { dtype: 'int32' }));
  forward(a: Tensor, b: Tensor): Tensor {
    const h = this.left.forward(a).add(this.right[1]!.forward(this.right[0]!.forward(b)));
    return this.head.forward(this.norm.forward(h.relu()));
  }
}

const bits = (m: Module) => Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]);
const optBits = (o: Adam | SGD) =>
  Object.entries(o.stateDict().tensors).map(([k, t]) => [k, Array.from(t.data)]);

const batches = Array.from({ length: 6 }, (_, i) => ({
  a: randn([8, 4], { rng: 100 + i }),
  b: randn([8, 3], { rng: 200 + i }),
  y: tensor(
    Array.from({ length: 8 }, (_, j) => (i + j) % 3),
    { dtype: 'int32' },
  ),
}));

function towerRun() {
  const model = new TwoTower();
  const opt = new Adam(model.parameters(), { lr: 0.01 });
  const schedule = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
  const step = (k: number) => {
    const { a, b, y } = batches[k]!;
    opt.zeroGrad();
    crossEntropy(model.forward(a, b), y).backward();
    opt.step();
    schedule.step();
    model.steps.data[0]! += 1;
  };
  return { model, opt, schedule, step };
}

describe('checkpoints of any Module', () => {
  it('a custom module resumes bit-identically: parameters, buffers, optimiser and schedule', () => {
    const straight = towerRun();
    for (let k = 0; k < 6; k++) straight.step(k);

    const first = towerRun();
    for (let k = 0; k < 3; k++) first.step(k);
    const bytes = checkpointBytes(first.model, {
      optimizer: first.opt,
      scheduler: first.schedule,
      meta: { step: 3 },
    });

    const resumed = towerRun(); // fresh weights: everything must come from the checkpoint
    const restored = restoreCheckpoint(bytes, {
      into: resumed.model,
      optimizer: resumed.opt,
      scheduler: resumed.schedule,
    });
    expect(restored.model).toBe(resumed.model);
    expect(restored.spec).toBeUndefined();
    expect(restored.meta).toEqual({ step: 3 });
    expect(resumed.schedule.epoch).toBe(3);
    expect(resumed.model.steps.item()).toBe(3);
    for (let k = 3; k < 6; k++) resumed.step(k);
    expect(bits(resumed.model)).toEqual(bits(straight.model));
    expect(optBits(resumed.opt)).toEqual(optBits(straight.opt));
    expect(resumed.opt.lr).toBe(straight.opt.lr);
  });

  it('a spec-built model with batch norm resumes bit-identically through compiled steps', () => {
    const spec: ModelSpec = {
      input: [4],
      layers: [
        { type: 'dense', units: 8 },
        { type: 'batchNorm' },
        { type: 'activation', activation: 'relu' },
        {
          type: 'residual',
          layers: [
            { type: 'dense', units: 8 },
            { type: 'batchNorm', momentum: 0.3 },
          ],
        },
        { type: 'dense', units: 3 },
      ],
    };
    const run = (model = buildModel(spec, { seed: 5 })) => {
      const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const schedule = new CosineLR(opt, { tMax: 10 });
      const train = compile((a: Tensor, y: Tensor) => {
        opt.zeroGrad();
        const loss = crossEntropy(model.forward(a), y);
        loss.backward();
        opt.step();
        return loss;
      });
      const step = (k: number) => {
        train(batches[k]!.a, batches[k]!.y);
        schedule.step();
      };
      return { model, opt, schedule, step };
    };
    const straight = run();
    for (let k = 0; k < 6; k++) straight.step(k);
    const first = run();
    for (let k = 0; k < 3; k++) first.step(k);
    const bytes = checkpointBytes(first.model, { optimizer: first.opt, scheduler: first.schedule });

    // Rebuilt from the spec, then optimiser and schedule restored into new ones.
    const restored = restoreCheckpoint(bytes);
    expect(restored.model.stateDict()['1.num_batches_tracked']!.item()).toBe(3);
    const resumed = run(restored.model);
    resumed.opt.loadStateDict(restored.optimizer!);
    resumed.schedule.loadStateDict(restored.scheduler as never);
    for (let k = 3; k < 6; k++) resumed.step(k);
    expect(bits(resumed.model)).toEqual(bits(straight.model));

    // The same bytes into a model built by hand from the spec, with { into }.
    const again = run(buildModel(spec, { seed: 99 }));
    restoreCheckpoint(bytes, {
      into: again.model,
      optimizer: again.opt,
      scheduler: again.schedule,
    });
    for (let k = 3; k < 6; k++) again.step(k);
    expect(bits(again.model)).toEqual(bits(straight.model));
  });

  it('dropout masks continue from the saved generator state, compiled or not', () => {
    const spec: ModelSpec = {
      input: [4],
      layers: [
        { type: 'dense', units: 16, activation: 'relu' },
        { type: 'dropout', rate: 0.5 },
        {
          type: 'sequential',
          layers: [
            { type: 'dense', units: 8 },
            { type: 'dropout', rate: 0.3 },
          ],
        },
        { type: 'dense', units: 3 },
      ],
    };
    for (const compiled of [false, true]) {
      const run = (model = buildModel(spec, { seed: 8 })) => {
        const opt = new Adam(model.parameters(), { lr: 0.01 });
        const body = (a: Tensor, y: Tensor) => {
          opt.zeroGrad();
          const loss = crossEntropy(model.forward(a), y);
          loss.backward();
          opt.step();
          return loss;
        };
        const train = compiled ? compile(body) : body;
        return { model, opt, step: (k: number) => train(batches[k]!.a, batches[k]!.y) };
      };
      const straight = run();
      for (let k = 0; k < 6; k++) straight.step(k);
      const first = run();
      for (let k = 0; k < 3; k++) first.step(k);
      const bytes = checkpointBytes(first.model, { optimizer: first.opt });
      const restored = restoreCheckpoint(bytes);
      const resumed = run(restored.model);
      resumed.opt.loadStateDict(restored.optimizer!);
      for (let k = 3; k < 6; k++) resumed.step(k);
      expect(bits(resumed.model)).toEqual(bits(straight.model));
    }
    // Without the generator states the masks would differ: the check above can fail.
    const a = buildModel(spec, { seed: 8 });
    const b = buildModel(spec, { seed: 8 });
    a.forward(batches[0]!.a);
    const x = batches[1]!.a;
    expect(Array.from(a.forward(x).data)).not.toEqual(Array.from(b.forward(x).data));
  });

  it('generators in the checkpoint and the model must match', () => {
    const withDropout = buildModel(
      {
        input: [4],
        layers: [
          { type: 'dropout', rate: 0.5 },
          { type: 'dense', units: 2 },
        ],
      },
      { seed: 1 },
    );
    const plain = buildModel({
      input: [4],
      layers: [
        { type: 'activation', activation: 'relu' },
        { type: 'dense', units: 2 },
      ],
    });
    expect(() => restoreCheckpoint(checkpointBytes(withDropout), { into: plain })).toThrow(
      "rng: the checkpoint has generator '0.rng', the model does not",
    );
  });

  it('the wrong model: every missing, unexpected and mis-shaped tensor named, nothing changed', () => {
    const source = towerRun();
    source.step(0);
    const bytes = checkpointBytes(source.model, { optimizer: source.opt });

    class Other extends TwoTower {
      override head = new Linear(6, 5, { rng: 3 });
      extra = new Linear(2, 2, { rng: 4 });
    }
    const target = new Other();
    const opt = new Adam(target.parameters(), { lr: 0.5 });
    const before = bits(target);
    let error: unknown;
    try {
      restoreCheckpoint(bytes, { into: target, optimizer: opt, name: 'run.safetensors' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    const message = (error as Error).message;
    expect(message).toMatch(/^run\.safetensors: does not fit \(4 problems\):/);
    expect(message).toContain(
      "model: 'head.weight' has shape [3, 6] in the state dict but [5, 6] in the model",
    );
    expect(message).toContain(
      "model: 'head.bias' has shape [3] in the state dict but [5] in the model",
    );
    expect(message).toContain("model: 'extra.weight' is missing (the model's is [2, 2])");
    expect(message).toContain("model: 'extra.bias' is missing (the model's is [2])");
    expect(bits(target)).toEqual(before);
    expect(opt.lr).toBe(0.5);

    const unexpected = new TwoTower();
    const bigger = checkpointBytes(
      new (class extends TwoTower {
        more = new Linear(1, 1, { rng: 1 });
      })(),
    );
    expect(() => restoreCheckpoint(bigger, { into: unexpected })).toThrow(
      /model: 'more.weight' \[1, 1\] is not a parameter or buffer of this model/,
    );
  });

  it('a missing or different optimiser state is refused before the model changes', () => {
    const source = towerRun();
    source.step(0);
    const plain = checkpointBytes(source.model);
    const withAdam = checkpointBytes(source.model, { optimizer: source.opt });
    const target = towerRun();
    const before = bits(target.model);
    expect(() => restoreCheckpoint(plain, { into: target.model, optimizer: target.opt })).toThrow(
      'checkpoint: does not fit (1 problem):\n  optimizer: the checkpoint holds no optimiser state',
    );
    const sgd = new SGD(target.model.parameters(), { lr: 0.1 });
    expect(() => restoreCheckpoint(withAdam, { into: target.model, optimizer: sgd })).toThrow(
      'optimizer: the checkpoint holds a Adam state, the optimiser is a SGD',
    );
    expect(() =>
      restoreCheckpoint(plain, { into: target.model, scheduler: target.schedule }),
    ).toThrow('scheduler: the checkpoint holds no schedule state');
    expect(bits(target.model)).toEqual(before);
  });

  it('files: saved atomically, loaded by path or bytes into a constructed model', async () => {
    const source = towerRun();
    source.step(0);
    const path = join(dir, 'tower.safetensors');
    await saveCheckpoint(path, source.model, { optimizer: source.opt, meta: { epoch: 1 } });
    const target = towerRun();
    const { meta } = await loadCheckpoint(path, { into: target.model, optimizer: target.opt });
    expect(meta).toEqual({ epoch: 1 });
    expect(bits(target.model)).toEqual(bits(source.model));
    expect(optBits(target.opt)).toEqual(optBits(source.opt));
    await expect(loadCheckpoint(path)).rejects.toThrow(
      `${path}: no 'neurite.spec' in the metadata, so the model cannot be rebuilt: construct it and pass { into: model }`,
    );
    const other = new TwoTower();
    await loadCheckpoint(checkpointBytes(source.model), { into: other });
    expect(bits(other)).toEqual(bits(source.model));
  });
});
