import { type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  type Callback,
  checkpointBytes,
  crossEntropy,
  earlyStopping,
  evaluate,
  FitError,
  fit,
  LBFGS,
  Linear,
  lambda,
  Module,
  modelCheckpoint,
  type Progress,
  predict,
  progress,
  ReLU,
  reduceLROnPlateau,
  restoreCheckpoint,
  Sequential,
  SGD,
  TrainingError,
  topKAccuracy,
  warmupCosine,
} from '../src/index.js';

/** Three Gaussian-ish blobs in 2-D (deterministic), labelled 0, 1, 2. */
function blobs(n: number): [Tensor, Tensor] {
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  const centres = [
    [2, 0],
    [-1, 1.7],
    [-1, -1.7],
  ];
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    x[2 * i] = centres[c]![0]! + Math.sin(i * 12.9898) * 0.6;
    x[2 * i + 1] = centres[c]![1]! + Math.cos(i * 78.233) * 0.6;
  }
  return [tensor(x, { shape: [n, 2] }), tensor(y, { dtype: 'int32' })];
}

const mlp = (seed = 1) =>
  new Sequential(new Linear(2, 8, { rng: seed }), new ReLU(), new Linear(8, 3, { rng: seed + 1 }));
const bits = (m: Module) =>
  m
    .parameters()
    .map((p) => Array.from(new Uint32Array(p.data.buffer, p.data.byteOffset, p.data.length)));

describe('fit', () => {
  it('trains a classifier and records loss, metrics and validation per epoch', async () => {
    const model = mlp();
    const history = await fit(model, blobs(300), {
      loss: 'crossEntropy',
      optimizer: new Adam(model.parameters(), { lr: 0.05 }),
      epochs: 5,
      batchSize: 16,
      validation: 0.2,
      metrics: ['accuracy', 'top2Accuracy'],
    });
    expect(history.epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(Object.keys(history.history).sort()).toEqual(
      [
        'accuracy',
        'epoch',
        'loss',
        'lr',
        'seconds',
        'top2Accuracy',
        'valAccuracy',
        'valLoss',
        'valTop2Accuracy',
      ].sort(),
    );
    const { loss, valAccuracy, top2Accuracy } = history.history;
    expect(loss![4]!).toBeLessThan(loss![0]! / 2);
    expect(valAccuracy![4]!).toBeGreaterThan(0.95);
    expect(top2Accuracy![4]!).toBeGreaterThanOrEqual(history.history.accuracy![4]!);
    // 240 training samples in batches of 16.
    expect(history.steps).toBe(5 * 15);
    expect(history.samples).toBe(5 * 240);
  });

  it('gives the same weights as a hand-written compiled loop, and compiled as eager, bit for bit', async () => {
    const [x, y] = blobs(100);
    const viaFit = async (compile: boolean) => {
      const model = mlp(3);
      await fit(model, [x, y], {
        loss: 'crossEntropy',
        optimizer: new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }),
        epochs: 3,
        batchSize: 25,
        shuffle: false,
        compile,
      });
      return bits(model);
    };
    const model = mlp(3);
    const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    for (let e = 0; e < 3; e++) {
      for (let b = 0; b < 4; b++) {
        opt.zeroGrad();
        crossEntropy(model.forward(x.narrow(0, b * 25, 25)), y.narrow(0, b * 25, 25)).backward();
        opt.step();
      }
    }
    const compiled = await viaFit(true);
    expect(compiled).toEqual(bits(model));
    expect(await viaFit(false)).toEqual(compiled);
  });

  it('the same seed gives the same run; resuming at initialEpoch continues it exactly', async () => {
    const data = blobs(90);
    const options = (opt: Adam) => ({
      loss: 'crossEntropy' as const,
      optimizer: opt,
      batchSize: 20,
      seed: 7,
    });
    const a = mlp();
    const optA = new Adam(a.parameters(), { lr: 0.02 });
    await fit(a, data, { ...options(optA), epochs: 4 });
    const b = mlp();
    const optB = new Adam(b.parameters(), { lr: 0.02 });
    await fit(b, data, { ...options(optB), epochs: 2 });
    const c = mlp(9);
    c.loadStateDict(b.stateDict());
    const optC = new Adam(c.parameters(), { lr: 0.02 });
    optC.loadStateDict(optB.stateDict());
    await fit(c, data, { ...options(optC), epochs: 4, initialEpoch: 2 });
    expect(bits(c)).toEqual(bits(a));
    const d = mlp();
    await fit(d, data, {
      ...options(new Adam(d.parameters(), { lr: 0.02 })),
      epochs: 4,
      seed: 8,
    });
    expect(bits(d)).not.toEqual(bits(a));
  });

  it('modelCheckpoint saves checkpoints of a model without a spec; one resumes the run bit for bit', async () => {
    class Net extends Module {
      hidden = new Linear(2, 6, { rng: 4 });
      out = new Linear(6, 3, { rng: 5 });
      forward(x: Tensor) {
        return this.out.forward(this.hidden.forward(x).relu());
      }
    }
    const data = blobs(60);
    const base = { loss: 'crossEntropy' as const, batchSize: 16, seed: 3, epochs: 4 };
    const saved: Uint8Array[] = [];
    const a = new Net();
    await fit(a, data, {
      ...base,
      optimizer: new Adam(a.parameters(), { lr: 0.02 }),
      callbacks: [
        modelCheckpoint({
          monitor: 'loss',
          saveEveryEpoch: true,
          save: (model, { epoch, ctx }) => {
            saved[epoch] = checkpointBytes(model, { optimizer: ctx.optimizer, meta: { epoch } });
          },
        }),
      ],
    });
    const b = new Net();
    const optB = new Adam(b.parameters(), { lr: 0.02 });
    const { meta } = restoreCheckpoint(saved[2]!, { into: b, optimizer: optB });
    expect(meta.epoch).toBe(2);
    await fit(b, data, { ...base, optimizer: optB, initialEpoch: 2 });
    expect(bits(b)).toEqual(bits(a));
  });

  it('stops on a NaN loss with a TrainingError naming the epoch and the batch', async () => {
    const [x, y] = blobs(100);
    x.data[2 * 70] = Number.NaN; // sample 70: batch 3 of 32-sample batches, in order
    const model = mlp();
    const error = await fit(model, [x, y], {
      loss: 'crossEntropy',
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      batchSize: 32,
      shuffle: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as TrainingError).epoch).toBe(1);
    expect((error as TrainingError).batch).toBe(3);
    expect((error as Error).message).toMatch(/^fit: the loss is NaN at epoch 1, batch 3 of 4/);
  });

  it('refuses a configuration that cannot work before the first step, naming the field and the value', async () => {
    const data = blobs(30);
    const model = mlp();
    const before = bits(model);
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const refused = (options: Record<string, unknown>, d: unknown = data) =>
      fit(model, d as [Tensor, Tensor], { loss: 'crossEntropy', optimizer: opt, ...options }).catch(
        (e: unknown) => e,
      );
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { loss: 'mse' },
        /^fit: loss 'mse' does not fit the model's output float32 \[32, 3\]|^fit: loss 'mse' does not fit the model's output float32 \[30, 3\] and the targets int32 \[30\]/,
      ],
      [{ loss: 'crossEntrpy' }, /^fit: loss 'crossEntrpy' is not a loss \(known: crossEntropy/],
      [{ metrics: ['accuracy', 'acuracy'] }, /^fit: metrics\[1\] 'acuracy' is not a metric/],
      [
        { metrics: ['mse'] },
        /^fit: metrics\[0\] 'mse' does not fit the model's output float32 \[30, 3\]/,
      ],
      [
        { validation: 1.5 },
        /^fit: validation must be a fraction in \(0, 1\) or a dataset, got 1.5$/,
      ],
      [{ validation: 0 }, /^fit: validation must be a fraction in \(0, 1\) or a dataset, got 0$/],
      [{ epochs: 0 }, /^fit: epochs must be a positive integer, got 0$/],
      [{ batchSize: 2.5 }, /^fit: batchSize must be a positive integer, got 2.5$/],
      [
        { callbacks: [earlyStopping()] },
        /^fit: callbacks\[0\] monitors 'valLoss', which the epoch logs will not hold/,
      ],
      [{ optimizer: new LBFGS(model.parameters()) }, /^fit: optimizer LBFGS is closure-based/],
    ];
    for (const [options, message] of cases) {
      const error = await refused(options);
      expect(error, JSON.stringify(Object.keys(options))).toBeInstanceOf(FitError);
      expect((error as Error).message).toMatch(message);
    }
    const wrongInput = await refused({}, [tensor([[1, 2, 3]]), tensor([0], { dtype: 'int32' })]);
    expect((wrongInput as Error).message).toMatch(
      /^fit: the model cannot take the data's inputs float32 \[1, 3\]/,
    );
    expect(bits(model)).toEqual(before);
  });

  it('refuses validation data that does not fit before the first step, not after an epoch', async () => {
    const model = mlp();
    const before = bits(model);
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const [vx, vy] = blobs(12);
    const refused = (validation: [Tensor, Tensor], loss = 'crossEntropy') =>
      fit(model, blobs(30), { loss: loss as 'mse', optimizer: opt, validation }).catch(
        (e: unknown) => e,
      ) as Promise<Error>;
    const wrongFeatures = await refused([tensor([[1, 2, 3]]), tensor([0], { dtype: 'int32' })]);
    expect(wrongFeatures).toBeInstanceOf(FitError);
    expect(wrongFeatures.message).toMatch(
      /^fit: the model cannot take the validation data's inputs float32 \[1, 3\]/,
    );
    const wrongTargets = await refused([vx, vy.cast('float32').reshape([12, 1])]);
    expect(wrongTargets.message).toMatch(
      /^fit: loss 'crossEntropy' does not fit the model's output float32 \[12, 3\] and the validation targets float32 \[12, 1\]/,
    );
    expect(bits(model)).toEqual(before);
  });

  it('earlyStopping ends training when the figure stops improving and restores the best weights', async () => {
    const model = mlp();
    const stopper = earlyStopping({ monitor: 'loss', patience: 1, restoreBestWeights: true });
    // lr 0: the loss never changes, so epoch 1 stays best.
    const history = await fit(model, blobs(30), {
      loss: 'crossEntropy',
      optimizer: new SGD(model.parameters(), { lr: 0 }),
      epochs: 10,
      callbacks: [stopper],
    });
    expect(history.epochs.length).toBe(3);
    expect(history.stopped).toBe(true);
    expect(history.stopReason).toMatch(/^earlyStopping: loss did not improve/);
    expect(stopper.best?.epoch).toBe(1);
  });

  it('modelCheckpoint keeps the best epoch by a figure, saves it, and can restore it', async () => {
    const scores = [0.2, 0.9, 0.5, 0.7];
    const weights: number[][][] = [];
    const saved: number[] = [];
    const scorer: Callback = {
      provides: ['score'],
      onEpochEnd(logs, ctx) {
        logs.score = scores[logs.epoch - 1]!;
        weights.push(bits(ctx.model));
      },
    };
    const model = mlp();
    const keeper = modelCheckpoint({ monitor: 'score', mode: 'max', restoreBest: true });
    const writer = modelCheckpoint({
      monitor: 'score',
      mode: 'max',
      save: (_m, info) => void saved.push(info.epoch),
    });
    await fit(model, blobs(60), {
      loss: 'crossEntropy',
      optimizer: new Adam(model.parameters(), { lr: 0.05 }),
      epochs: 4,
      callbacks: [scorer, keeper, writer],
    });
    expect(keeper.best?.epoch).toBe(2);
    expect(saved).toEqual([1, 2]);
    expect(bits(model)).toEqual(weights[1]);
  });

  it('warmupCosine sets the documented rate before every step', async () => {
    const model = mlp();
    const opt = new SGD(model.parameters(), { lr: 0.4 });
    const rates: number[] = [];
    await fit(model, blobs(40), {
      loss: 'crossEntropy',
      optimizer: opt,
      epochs: 2,
      batchSize: 4,
      callbacks: [
        warmupCosine({ warmup: 0.25 }),
        lambda({ onBatchBegin: () => void rates.push(opt.lr) }),
      ],
    });
    const total = 20;
    const peak = Math.fround(0.4); // as the optimiser stores it
    const expected = Array.from({ length: total }, (_, s) =>
      s < 5 ? (peak * (s + 1)) / 5 : 0.5 * peak * (1 + Math.cos((Math.PI * (s - 5)) / 15)),
    );
    expect(rates).toEqual(expected.map(Math.fround));
  });

  it('warmupCosine counts steps from the first epoch, so a resumed run continues the schedule exactly', async () => {
    const data = blobs(60);
    const run = (model: Module, opt: SGD, extra: object = {}, callbacks: Callback[] = []) =>
      fit(model, data, {
        loss: 'crossEntropy',
        optimizer: opt,
        epochs: 4,
        batchSize: 8,
        seed: 5,
        callbacks: [warmupCosine({ peak: 0.3, warmup: 0.2 }), ...callbacks],
        ...extra,
      });
    const straight = mlp();
    await run(straight, new SGD(straight.parameters(), { lr: 0.3 }));
    // Stopped after epoch 2, then resumed from the weights and the optimiser's state.
    const first = mlp();
    const optFirst = new SGD(first.parameters(), { lr: 0.3 });
    const stopAfter2 = lambda({
      onEpochEnd: (logs, ctx) => {
        if (logs.epoch === 2) ctx.stopTraining = true;
      },
    });
    await run(first, optFirst, {}, [stopAfter2]);
    const resumed = mlp(9);
    resumed.loadStateDict(first.stateDict());
    const opt = new SGD(resumed.parameters(), { lr: 0.3 });
    opt.loadStateDict(optFirst.stateDict());
    await run(resumed, opt, { initialEpoch: 2 });
    expect(bits(resumed)).toEqual(bits(straight));

    // Without the peak, the rate it would start from is the schedule's, not the peak: refused.
    const refused = await fit(resumed, data, {
      loss: 'crossEntropy',
      optimizer: opt,
      epochs: 4,
      initialEpoch: 2,
      callbacks: [warmupCosine()],
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FitError);
    expect((refused as Error).message).toMatch(
      /^warmupCosine: resuming at epoch 3 needs \{ peak \}/,
    );
  });

  it('reduceLROnPlateau multiplies the rate after `patience` epochs without improvement', async () => {
    const model = mlp();
    const opt = new SGD(model.parameters(), { lr: 0.1 });
    const history = await fit(model, blobs(30), {
      loss: 'crossEntropy',
      optimizer: opt,
      epochs: 6,
      callbacks: [
        {
          provides: ['flat'],
          onEpochEnd: (logs) => {
            logs.flat = 1;
          },
        },
        reduceLROnPlateau({ monitor: 'flat', factor: 0.5, patience: 1 }),
      ],
    });
    // Epoch 1 improves on ∞; epochs 2 and 3 do not → halved after 3; again after 5.
    expect(history.history.lr).toEqual([0.1, 0.1, 0.1, 0.05, 0.05, 0.025].map(Math.fround));
  });

  it('a callback can stop after the current batch; progress reports every stage', async () => {
    const model = mlp();
    const seen: Progress['phase'][] = [];
    const history = await fit(model, blobs(40), {
      loss: 'crossEntropy',
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      epochs: 3,
      batchSize: 10,
      metrics: ['accuracy'],
      callbacks: [
        progress((p) => void seen.push(p.phase), { every: 0 }),
        lambda({
          onBatchEnd(logs, ctx) {
            if (logs.epoch === 2 && logs.batch === 2) ctx.stopTraining = true;
          },
        }),
      ],
    });
    expect(history.epochs.length).toBe(1);
    expect(history.stopped).toBe(true);
    expect(history.steps).toBe(6);
    expect(seen).toEqual([
      'epochBegin',
      'batch',
      'batch',
      'batch',
      'batch',
      'epochEnd',
      'epochBegin',
      'batch',
      'batch',
      'end',
    ]);
  });

  it('lets timers run between steps (what a Ctrl-C handler or a stop message needs)', async () => {
    const timerSeen = async (yieldEvery: number) => {
      const model = mlp();
      let fired = false;
      const seen: boolean[] = [];
      setTimeout(() => {
        fired = true;
      }, 0);
      await fit(model, blobs(40), {
        loss: 'crossEntropy',
        optimizer: new SGD(model.parameters(), { lr: 0.1 }),
        batchSize: 4,
        yieldEvery,
        callbacks: [lambda({ onBatchEnd: () => void seen.push(fired) })],
      });
      return seen;
    };
    expect((await timerSeen(0)).at(-1)).toBe(true);
    // Never yielding, the whole run is one synchronous stretch: the timer waits for its end.
    expect((await timerSeen(-1)).some((f) => f)).toBe(false);
  });

  it('awaits asynchronous callbacks before going on', async () => {
    const model = mlp();
    const order: string[] = [];
    await fit(model, blobs(20), {
      loss: 'crossEntropy',
      optimizer: new SGD(model.parameters(), { lr: 0.1 }),
      epochs: 2,
      batchSize: 20,
      callbacks: [
        {
          async onEpochEnd(logs) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            order.push(`saved ${logs.epoch}`);
          },
          onEpochBegin: (epoch) => void order.push(`begin ${epoch}`),
        },
      ],
    });
    expect(order).toEqual(['begin 1', 'saved 1', 'begin 2', 'saved 2']);
  });

  it('trains a model of several inputs: the batch’s last tensor is the target', async () => {
    class Pair extends Module {
      a = new Linear(2, 1, { rng: 1 });
      b = new Linear(1, 1, { rng: 2 });
      forward(x: Tensor, z: Tensor) {
        return this.a.forward(x).add(this.b.forward(z));
      }
    }
    const [x] = blobs(64);
    const z = x.narrow(1, 0, 1).mul(0.5);
    const y = x
      .matmul(tensor([[1], [-2]]))
      .add(z.mul(3))
      .add(0.5);
    const model = new Pair();
    const history = await fit(model, [x, z, y], {
      loss: 'mse',
      optimizer: new Adam(model.parameters(), { lr: 0.05 }),
      epochs: 40,
      batchSize: 16,
      metrics: ['mae'],
    });
    expect(history.last!.loss).toBeLessThan(1e-3);
    expect(evaluate(model, [x, z, y], { loss: 'mse', metrics: ['mae'] }).mae).toBeLessThan(0.05);
  });
});

describe('evaluate and predict', () => {
  it('predict stacks the outputs of every batch; evaluate gives means over the samples', () => {
    const [x, y] = blobs(50);
    const model = mlp();
    const out = predict(model, x, { batchSize: 7 });
    expect(out.shape).toEqual([50, 3]);
    expect(Array.from(out.data)).toEqual(Array.from(model.forward(x).data));
    const predicted = out.argmax(-1).data;
    let right = 0;
    for (let i = 0; i < 50; i++) right += predicted[i] === y.data[i] ? 1 : 0;
    const figures = evaluate(model, [x, y], {
      loss: 'crossEntropy',
      metrics: ['accuracy', topKAccuracy(3)],
      batchSize: 16,
    });
    expect(figures.accuracy).toBeCloseTo(right / 50, 10);
    expect(figures.top3Accuracy).toBe(1);
    expect(figures.loss).toBeCloseTo(crossEntropy(model.forward(x), y).item(), 5);
  });

  it('metrics compare outputs with labels, one-hot rows or values', () => {
    const output = tensor([
      [0.1, 0.7, 0.2],
      [0.5, 0.3, 0.2],
    ]);
    const labels = tensor([1, 2], { dtype: 'int32' });
    const oneHot = tensor([
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const [x] = [output];
    const m = (name: string, target: Tensor) =>
      evaluate(
        { forward: () => x, eval() {}, train() {}, training: false } as unknown as Module,
        [tensor([[0], [0]]), target],
        {
          metrics: [name as 'accuracy'],
        },
      )[name];
    expect(m('accuracy', labels)).toBe(0.5);
    expect(m('accuracy', oneHot)).toBe(0.5);
    expect(m('top2Accuracy', labels)).toBe(0.5);
    expect(m('top3Accuracy', labels)).toBe(1);
    expect(m('mse', oneHot)).toBeCloseTo(
      ((0.01 + 0.09 + 0.04) / 3 + (0.25 + 0.09 + 0.64) / 3) / 2,
      6,
    );
    expect(m('mae', oneHot)).toBeCloseTo(((0.1 + 0.3 + 0.2) / 3 + (0.5 + 0.3 + 0.8) / 3) / 2, 6);
    expect(m('binaryAccuracy', oneHot)).toBeCloseTo((1 + 2 / 3) / 2, 6);
  });
});
