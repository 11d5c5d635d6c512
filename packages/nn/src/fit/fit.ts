import { compile as compileStep, noGrad, Tensor } from '@neurite/tensor';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  mse,
  nll,
  quadraticCost,
} from '../losses.js';
import { Module } from '../module.js';
import { Optimizer } from '../optim/optimizer.js';
import { type BatchLoader, type FitData, isLoader, loaderOf, splitOff } from './batches.js';
import { FitError, TrainingError } from './errors.js';
import { type EpochLogs, History } from './history.js';
import { type Metric, type MetricName, resolveMetric } from './metrics.js';

/** Losses `fit` knows by name (the functions of @neurite/nn with their default reduction). */
export type LossName =
  | 'crossEntropy'
  | 'nll'
  | 'mse'
  | 'quadraticCost'
  | 'binaryCrossEntropy'
  | 'binaryCrossEntropyWithLogits';

/** A loss: the batch's (mean) loss as a scalar tensor, from the model's output and the targets. */
export type LossFn = (output: Tensor, target: Tensor) => Tensor;

const losses: Record<LossName, LossFn> = {
  crossEntropy: (o, t) => crossEntropy(o, t),
  nll: (o, t) => nll(o, t),
  mse: (o, t) => mse(o, t),
  quadraticCost: (o, t) => quadraticCost(o, t),
  binaryCrossEntropy: (o, t) => binaryCrossEntropy(o, t),
  binaryCrossEntropyWithLogits: (o, t) => binaryCrossEntropyWithLogits(o, t),
};

type MaybePromise = void | Promise<void>;

/** The running state of a `fit` call, shared with every callback. */
export interface FitContext {
  readonly model: Module;
  readonly optimizer: Optimizer;
  /** The last epoch (counted from 1). */
  readonly epochs: number;
  /** Epochs done before this run (when resuming). */
  readonly initialEpoch: number;
  /** Batches per epoch. */
  readonly batches: number;
  /** Steps this run will take if nothing stops it: (epochs − initialEpoch) × batches. */
  readonly totalSteps: number;
  /** Steps taken so far in this run. */
  step: number;
  /** The epoch under way (counted from 1). */
  epoch: number;
  /** Set to true to end training: after the current batch from `onBatchEnd`, after the epoch from `onEpochEnd`. */
  stopTraining: boolean;
  /** Why training was stopped, for `History.stopReason`. */
  stopReason: string | undefined;
  /** The names every epoch's logs will hold: `loss`, the metrics, `valLoss` …, `lr`. */
  readonly logNames: readonly string[];
  readonly history: History;
}

/** Figures after each batch. */
export interface BatchLogs {
  /** Epoch and batch, counted from 1, and the batches per epoch. */
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  /** Samples in this batch. */
  readonly size: number;
  /** This batch's loss. */
  readonly batchLoss: number;
  /** Mean loss over the epoch's batches so far. */
  readonly loss: number;
  /** Each metric's mean over the epoch's batches so far. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Training samples per second of the steps so far (the steps alone). */
  readonly samplesPerSecond: number;
}

/**
 * Hooks into `fit`, as Keras's callbacks. Each may return a promise, which
 * `fit` awaits. Epoch logs are handed to `onEpochEnd` before the history
 * records them, so a callback may add figures of its own (a test-set
 * accuracy) for the callbacks after it.
 *
 * @example
 * const printer: Callback = {
 *   onEpochEnd: (logs) => console.log(`epoch ${logs.epoch}: loss ${logs.loss.toFixed(4)}`),
 * };
 */
export interface Callback {
  onTrainBegin?(ctx: FitContext): MaybePromise;
  onEpochBegin?(epoch: number, ctx: FitContext): MaybePromise;
  onBatchBegin?(batch: number, ctx: FitContext): MaybePromise;
  onBatchEnd?(logs: BatchLogs, ctx: FitContext): MaybePromise;
  onEpochEnd?(logs: EpochLogs, ctx: FitContext): MaybePromise;
  onTrainEnd?(history: History, ctx: FitContext): MaybePromise;
  /** Names of the epoch logs this callback reads, checked before the first step. */
  readonly monitors?: readonly string[];
  /** Names of the figures this callback adds to the epoch logs (for the callbacks after it to monitor). */
  readonly provides?: readonly string[];
}

/** Options of `fit`. */
export interface FitOptions {
  /** The loss, by name or as a function of (output, target). */
  loss: LossName | LossFn;
  optimizer: Optimizer;
  /** Train until this epoch (counted from 1). Default 1. */
  epochs?: number;
  /** Samples per batch when `data` is a dataset or tensors. Default 32. */
  batchSize?: number;
  /** Shuffle a dataset or tensors each epoch, seeded by `seed`. Default true. */
  shuffle?: boolean;
  /** Seed of the shuffles and of a validation split. Default 0. */
  seed?: number;
  /** Skip a last, smaller batch. Default false. */
  dropLast?: boolean;
  /** A fraction in (0, 1) of the data held out (seeded), or data of its own, measured after every epoch. */
  validation?: number | FitData;
  /** Tracked on the training batches and the validation data: names (`'accuracy'`, `'mse'`, `'mae'`, `'top5Accuracy'`) or `Metric`s. */
  metrics?: readonly (MetricName | Metric)[];
  callbacks?: readonly Callback[];
  /** Trace the step once with `compile` and replay it (the same numbers, faster). Default true. */
  compile?: boolean;
  /** Epochs already done (to resume): training starts at epoch initialEpoch + 1 with that epoch's batches. Default 0. */
  initialEpoch?: number;
  /** How many leading tensors of a batch are the model's inputs; the next one is the target. Default: all but the last. */
  inputs?: number;
  /** Let timers, signals and messages through (one macrotask) after at most this many ms of steps (0: after every batch; negative: never). Default 100. */
  yieldEvery?: number;
  /**
   * Batch size for validation (of data that is not a loader, which batches
   * itself). Default: the training batch size, so that validating needs no
   * more memory than a training step.
   */
  validationBatchSize?: number;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function describeTensor(t: Tensor): string {
  return `${t.dtype} ${fmt(t.shape)}`;
}

function positiveInt(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new FitError(`fit: ${field} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** One macrotask, so that timers, signal handlers and worker messages run. */
let yieldToEventLoop: (() => Promise<void>) | undefined;

/** Picks the cheapest macrotask the platform has, on first use (importing has no side effect). */
function macrotask(): () => Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const immediate = g.setImmediate;
    return () => new Promise<void>((resolve) => immediate(resolve));
  }
  // setTimeout(0) is clamped to 4 ms once nested; a message is not.
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    return () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(0);
      });
  }
  return () => new Promise<void>((resolve) => setTimeout(resolve, 0));
}

function resolveLoss(loss: unknown): { fn: LossFn; name: string } {
  if (typeof loss === 'function')
    return { fn: loss as LossFn, name: (loss as LossFn).name || 'the loss function' };
  if (typeof loss === 'string' && loss in losses)
    return { fn: losses[loss as LossName], name: `'${loss}'` };
  throw new FitError(
    `fit: loss ${typeof loss === 'string' ? `'${loss}'` : String(loss)} is not a loss (known: ${Object.keys(losses).join(', ')}, or a function (output, target) => Tensor)`,
  );
}

function splitBatch(
  batch: readonly Tensor[],
  inputs: number | undefined,
  where: string,
): [Tensor[], Tensor] {
  const n = inputs ?? batch.length - 1;
  if (batch.length < 2 || n < 1 || n >= batch.length) {
    throw new FitError(
      `fit: ${where} has ${batch.length} tensor${batch.length === 1 ? '' : 's'}; it needs the model's input${inputs && inputs > 1 ? 's' : ''} and a target`,
    );
  }
  return [batch.slice(0, n) as Tensor[], batch[n]!];
}

/** What a compiled step returns. */
type StepResult = { loss: Tensor; metrics: Tensor[] };

/**
 * Trains `model` on `data`, as Keras's `model.fit`: epoch after epoch of
 * mini-batches, each step (forward, loss, backward, optimiser update and
 * the metrics) traced once by `compile` and replayed, validation after each
 * epoch, callbacks around it all. Returns the `History`.
 *
 * `data` is a @neurite/data `DataLoader` (used as it is), a dataset, or
 * tensors sharing their first axis (`[x, y]`, or `[x1, x2, y]` for a model
 * of several inputs); the last tensor of a batch is the target.
 *
 * Refused before the first step, with the field and the value: an unknown
 * loss or metric name, a loss or metric that does not fit the model's
 * output and the targets (tried on the first batch of the data and of the
 * validation data), a validation fraction outside (0, 1), a callback
 * monitoring a figure the logs will not hold.
 * A NaN or infinite loss stops training with a `TrainingError` naming the
 * epoch and the batch. Deterministic: the same model, data and options
 * give the same weights, compiled or not.
 *
 * @example
 * const history = await fit(model, [x, y], {
 *   loss: 'crossEntropy',
 *   optimizer: new Adam(model.parameters(), { lr: 1e-3 }),
 *   epochs: 10,
 *   batchSize: 64,
 *   validation: 0.1,
 *   metrics: ['accuracy'],
 *   callbacks: [earlyStopping({ monitor: 'valLoss', patience: 2 })],
 * });
 * history.last?.valAccuracy;
 */
export async function fit(model: Module, data: FitData, options: FitOptions): Promise<History> {
  if (!(model instanceof Module))
    throw new FitError(`fit: model must be a Module, got ${String(model)}`);
  const optimizer = options.optimizer as unknown;
  if (!(optimizer instanceof Optimizer)) {
    const kind = (optimizer as { type?: string } | undefined)?.type;
    throw new FitError(
      kind === 'LBFGS'
        ? 'fit: optimizer LBFGS is closure-based (it evaluates the loss several times a step): call opt.step(closure) in a loop of your own'
        : `fit: optimizer must be an Optimizer (SGD, Adam, AdamW, RMSprop …), got ${String(optimizer)}`,
    );
  }
  const { fn: lossFn, name: lossName } = resolveLoss(options.loss);
  const epochs = positiveInt('epochs', options.epochs ?? 1);
  const initialEpoch = options.initialEpoch ?? 0;
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch >= epochs) {
    throw new FitError(
      `fit: initialEpoch must be an integer in [0, epochs = ${epochs}), got ${initialEpoch}`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new FitError(`fit: seed must be an integer, got ${seed}`);
  const metrics = (options.metrics ?? []).map((m, i) => resolveMetric(m, `metrics[${i}]`));
  const names = new Set<string>();
  for (const m of metrics) {
    if (names.has(m.name) || m.name === 'loss')
      throw new FitError(`fit: metric '${m.name}' is listed twice`);
    names.add(m.name);
  }
  const batchSize = isLoader(data)
    ? (data.batchSize ?? 1)
    : positiveInt('batchSize', options.batchSize ?? 32);
  if (isLoader(data) && options.batchSize !== undefined && options.batchSize !== data.batchSize) {
    throw new FitError(
      `fit: batchSize ${options.batchSize} differs from the loader's ${String(data.batchSize)}; the loader batches`,
    );
  }
  const inputs = options.inputs === undefined ? undefined : positiveInt('inputs', options.inputs);
  const yieldEvery = options.yieldEvery ?? 100;

  let trainData: FitData = data;
  let validation: FitData | undefined;
  const v = options.validation;
  if (typeof v === 'number') {
    if (!(v > 0 && v < 1)) {
      throw new FitError(`fit: validation must be a fraction in (0, 1) or a dataset, got ${v}`);
    }
    [trainData, validation] = splitOff(data, v, seed);
  } else if (v !== undefined) validation = v;

  const loader = loaderOf(trainData, 'data', {
    batchSize,
    shuffle: options.shuffle ?? true,
    seed,
    dropLast: options.dropLast ?? false,
  });
  if (loader.length === 0) {
    throw new FitError(
      `fit: data gives no batch per epoch (batchSize ${batchSize}${options.dropLast ? ', dropLast' : ''})`,
    );
  }
  const valLoader = validation
    ? loaderOf(validation, 'validation', {
        batchSize: positiveInt('validationBatchSize', options.validationBatchSize ?? batchSize),
        shuffle: false,
        seed: 0,
        dropLast: false,
      })
    : undefined;

  // Try the loss and the metrics on the first batch, in evaluation mode (no
  // dropout draws, so the run itself is unchanged), before any step.
  const first = loader.epoch(initialEpoch)[Symbol.iterator]().next();
  if (first.done) throw new FitError('fit: data gave no batch');
  const [firstInputs, firstTarget] = splitBatch(first.value, inputs, 'a batch of data');
  checkFits(model, firstInputs, firstTarget, lossFn, lossName, metrics);
  // And on the validation data's first batch, which would otherwise first run after an epoch.
  const firstVal = valLoader?.epoch(0)[Symbol.iterator]().next();
  if (firstVal && !firstVal.done) {
    const [valInputs, valTarget] = splitBatch(firstVal.value, inputs, 'a batch of validation');
    checkFits(model, valInputs, valTarget, lossFn, lossName, metrics, 'validation ');
  }

  const logNames = [
    'loss',
    ...metrics.map((m) => m.name),
    ...(valLoader
      ? ['valLoss', ...metrics.map((m) => `val${m.name[0]!.toUpperCase()}${m.name.slice(1)}`)]
      : []),
    'lr',
  ];
  const callbacks = options.callbacks ?? [];
  for (const cb of callbacks) logNames.push(...(cb.provides ?? []));
  callbacks.forEach((cb, i) => {
    for (const monitor of cb.monitors ?? []) {
      if (!logNames.includes(monitor)) {
        throw new FitError(
          `fit: callbacks[${i}] monitors '${monitor}', which the epoch logs will not hold (they hold ${logNames.join(', ')}${valLoader ? '' : '; validation adds valLoss and the like'})`,
        );
      }
    }
  });

  const history = new History();
  const ctx: FitContext = {
    model,
    optimizer,
    epochs,
    initialEpoch,
    batches: loader.length,
    totalSteps: (epochs - initialEpoch) * loader.length,
    step: 0,
    epoch: initialEpoch,
    stopTraining: false,
    stopReason: undefined,
    logNames,
    history,
  };

  const eagerStep = (...args: Tensor[]): StepResult => {
    const target = args[args.length - 1]!;
    optimizer.zeroGrad();
    const output = model.forward(...args.slice(0, -1));
    const loss = lossFn(output, target);
    loss.backward();
    optimizer.step();
    const detached = output.detach();
    return { loss: loss.detach(), metrics: metrics.map((m) => m.batch(detached, target)) };
  };
  const compiled = options.compile === false ? null : compileStep(eagerStep);
  const step = compiled ?? eagerStep;

  model.train();
  for (const cb of callbacks) {
    const pending = cb.onTrainBegin?.(ctx);
    if (pending) await pending;
  }
  let stepMs = 0;
  let lastYield = performance.now();
  const sums = new Float64Array(metrics.length);
  const running: Record<string, number> = {};

  for (let epoch = initialEpoch + 1; epoch <= epochs && !ctx.stopTraining; epoch++) {
    ctx.epoch = epoch;
    const epochStart = performance.now();
    for (const cb of callbacks) {
      const pending = cb.onEpochBegin?.(epoch, ctx);
      if (pending) await pending;
    }
    let lossSum = 0;
    let seen = 0;
    sums.fill(0);
    let batch = 0;
    let stoppedInEpoch = false;
    for (const tensors of loader.epoch(epoch - 1)) {
      batch++;
      for (const cb of callbacks) {
        const pending = cb.onBatchBegin?.(batch, ctx);
        if (pending) await pending;
      }
      const t0 = performance.now();
      const args = inputs === undefined ? (tensors as Tensor[]) : tensors.slice(0, inputs + 1);
      const result = step(...args);
      const loss = result.loss.item();
      const size = args[0]!.shape[0]!;
      for (let m = 0; m < metrics.length; m++) sums[m]! += result.metrics[m]!.item();
      const t1 = performance.now();
      stepMs += t1 - t0;
      if (!Number.isFinite(loss)) {
        throw new TrainingError(
          `fit: the loss is ${loss} at epoch ${epoch}, batch ${batch} of ${loader.length} (learning rate ${optimizer.lr}); the weights are no longer usable: lower the learning rate, or check the data for NaN or ∞`,
          { epoch, batch, loss },
        );
      }
      lossSum += loss * size;
      seen += size;
      history.samples += size;
      history.steps++;
      ctx.step++;
      if (callbacks.length > 0) {
        for (let m = 0; m < metrics.length; m++) running[metrics[m]!.name] = sums[m]! / seen;
        const logs: BatchLogs = {
          epoch,
          batch,
          batches: loader.length,
          size,
          batchLoss: loss,
          loss: lossSum / seen,
          metrics: running,
          samplesPerSecond: (history.samples * 1000) / stepMs,
        };
        for (const cb of callbacks) {
          const pending = cb.onBatchEnd?.(logs, ctx);
          if (pending) await pending;
        }
      }
      if (yieldEvery >= 0 && t1 - lastYield >= yieldEvery) {
        yieldToEventLoop ??= macrotask();
        await yieldToEventLoop();
        lastYield = performance.now();
      }
      if (ctx.stopTraining) {
        stoppedInEpoch = true;
        break;
      }
    }
    if (stoppedInEpoch) break;
    const logs: EpochLogs = { epoch, loss: lossSum / seen, lr: optimizer.lr, seconds: 0 };
    metrics.forEach((m, i) => {
      logs[m.name] = sums[i]! / seen;
    });
    if (valLoader) {
      const val = evaluateLoader(model, valLoader, lossFn, metrics, inputs);
      logs.valLoss = val.loss!;
      for (const m of metrics)
        logs[`val${m.name[0]!.toUpperCase()}${m.name.slice(1)}`] = val[m.name]!;
    }
    logs.seconds = (performance.now() - epochStart) / 1000;
    for (const cb of callbacks) {
      const pending = cb.onEpochEnd?.(logs, ctx);
      if (pending) await pending;
    }
    history.push(logs);
  }
  // The step is not called again: free its plans' memory now, not at a collection.
  compiled?.clear();
  history.stopped = ctx.stopTraining;
  history.stopReason = ctx.stopReason;
  history.samplesPerSecond = stepMs > 0 ? (history.samples * 1000) / stepMs : 0;
  for (const cb of callbacks) {
    const pending = cb.onTrainEnd?.(history, ctx);
    if (pending) await pending;
  }
  return history;
}

/** Runs the loss and the metrics on one batch without gradients, refusing what does not fit with a FitError. */
function checkFits(
  model: Module,
  inputs: Tensor[],
  target: Tensor,
  lossFn: LossFn,
  lossName: string,
  metrics: readonly Metric[],
  data = '',
): void {
  const wasTraining = model.training;
  model.eval();
  try {
    const output = noGrad(() => model.forward(...inputs));
    const what = `the model's output ${describeTensor(output)} and the ${data}targets ${describeTensor(target)}`;
    let loss: Tensor;
    try {
      loss = noGrad(() => lossFn(output, target));
    } catch (e) {
      throw new FitError(`fit: loss ${lossName} does not fit ${what}: ${(e as Error).message}`);
    }
    if (!(loss instanceof Tensor) || loss.size !== 1) {
      throw new FitError(
        `fit: loss ${lossName} must give one value for a batch, got ${loss instanceof Tensor ? describeTensor(loss) : String(loss)} from ${what}`,
      );
    }
    if (loss.dtype === 'int32') throw new FitError(`fit: loss ${lossName} gives an int32 value`);
    metrics.forEach((m, i) => {
      try {
        noGrad(() => m.batch(output, target));
      } catch (e) {
        throw new FitError(
          `fit: metrics[${i}] '${m.name}' does not fit ${what}: ${(e as Error).message}`,
        );
      }
    });
  } catch (e) {
    if (e instanceof FitError) throw e;
    throw new FitError(
      `fit: the model cannot take the ${data}data's inputs ${inputs.map(describeTensor).join(', ')}: ${(e as Error).message}`,
    );
  } finally {
    model.train(wasTraining);
  }
}

function evaluateLoader(
  model: Module,
  loader: BatchLoader,
  lossFn: LossFn | undefined,
  metrics: readonly Metric[],
  inputs: number | undefined,
): Record<string, number> {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let seen = 0;
  const sums = new Float64Array(metrics.length);
  try {
    noGrad(() => {
      for (const tensors of loader.epoch(0)) {
        const [xs, target] = splitBatch(tensors, inputs, 'a batch of the evaluation data');
        const output = model.forward(...xs);
        const size = xs[0]!.shape[0]!;
        if (lossFn) lossSum += lossFn(output, target).item() * size;
        metrics.forEach((m, i) => {
          sums[i]! += m.batch(output, target).item();
        });
        seen += size;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  const out: Record<string, number> = {};
  if (lossFn) out.loss = seen > 0 ? lossSum / seen : Number.NaN;
  metrics.forEach((m, i) => {
    out[m.name] = seen > 0 ? sums[i]! / seen : Number.NaN;
  });
  return out;
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** The loss to report, by name or as a function; without it only the metrics are reported. */
  loss?: LossName | LossFn;
  metrics?: readonly (MetricName | Metric)[];
  /** Samples per batch for a dataset or tensors. Default 256. */
  batchSize?: number;
  /** How many leading tensors of a batch are the model's inputs. Default: all but the last. */
  inputs?: number;
}

/**
 * The loss and metrics of `model` on `data`, in evaluation mode and without
 * gradients: `{ loss, accuracy, … }`, each a mean over the samples.
 *
 * @example
 * const { loss, accuracy } = evaluate(model, [xTest, yTest], { loss: 'crossEntropy', metrics: ['accuracy'] });
 */
export function evaluate(
  model: Module,
  data: FitData,
  options: EvaluateOptions = {},
): Record<string, number> {
  const lossFn = options.loss === undefined ? undefined : resolveLoss(options.loss).fn;
  const metrics = (options.metrics ?? []).map((m, i) => resolveMetric(m, `metrics[${i}]`));
  const batchSize = positiveInt('batchSize', options.batchSize ?? 256);
  const loader = loaderOf(data, 'data', { batchSize, shuffle: false, seed: 0, dropLast: false });
  const inputs = options.inputs === undefined ? undefined : positiveInt('inputs', options.inputs);
  return evaluateLoader(model, loader, lossFn, metrics, inputs);
}

/**
 * The model's outputs for every sample of `x` (a tensor, or a dataset or
 * loader whose batches start with the inputs), batch by batch in
 * evaluation mode without gradients, stacked into one tensor.
 *
 * @example
 * const probabilities = predict(model, xTest).softmax(-1);
 */
export function predict(
  model: Module,
  x: Tensor | FitData,
  { batchSize = 256, inputs }: { batchSize?: number; inputs?: number } = {},
): Tensor {
  positiveInt('batchSize', batchSize);
  const data: FitData = x instanceof Tensor ? [x] : x;
  const loader = loaderOf(data, 'x', { batchSize, shuffle: false, seed: 0, dropLast: false });
  const wasTraining = model.training;
  model.eval();
  const parts: Tensor[] = [];
  try {
    noGrad(() => {
      for (const tensors of loader.epoch(0)) {
        const n = inputs ?? (tensors.length === 1 ? 1 : tensors.length - 1);
        const out = model.forward(...(tensors.slice(0, n) as Tensor[]));
        parts.push(new Tensor(out.data.slice(), out.shape, out.dtype));
      }
    });
  } finally {
    model.train(wasTraining);
  }
  if (parts.length === 0) throw new FitError('predict: the data holds no sample');
  const first = parts[0]!;
  const rows = parts.reduce((n, p) => n + p.shape[0]!, 0);
  const data2 = new (first.data.constructor as new (n: number) => typeof first.data)(
    parts.reduce((n, p) => n + p.size, 0),
  );
  let at = 0;
  for (const p of parts) {
    data2.set(p.data, at);
    at += p.size;
  }
  return new Tensor(data2, [rows, ...first.shape.slice(1)], first.dtype);
}
