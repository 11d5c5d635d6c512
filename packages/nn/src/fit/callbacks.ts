import type { Module, StateDict } from '../module.js';
import type { LRSchedule } from '../optim/schedule.js';
import { FitError } from './errors.js';
import type { BatchLogs, Callback, FitContext } from './fit.js';
import { type EpochLogs, impliedMode } from './history.js';

type Mode = 'min' | 'max' | 'auto';

function modeOf(monitor: string, mode: Mode): 'min' | 'max' {
  if (mode === 'auto') return impliedMode(monitor);
  if (mode !== 'min' && mode !== 'max') {
    throw new FitError(`mode must be 'min', 'max' or 'auto', got ${String(mode)}`);
  }
  return mode;
}

function nonNegative(name: string, field: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) {
    throw new FitError(`${name}: ${field} must be a finite number ≥ 0, got ${v}`);
  }
}

/**
 * Plain callbacks from functions: shorthand for an object with
 * `onEpochEnd` / `onBatchEnd` and friends.
 *
 * @example
 * callbacks: [lambda({ onEpochEnd: (logs) => console.log(logs.epoch, logs.loss) })]
 */
export function lambda(hooks: Callback): Callback {
  return hooks;
}

/** Options of `earlyStopping`, as Keras's `EarlyStopping`. */
export interface EarlyStoppingOptions {
  /** The epoch figure watched. Default `valLoss`. */
  monitor?: string;
  /** Whether lower or higher is better; `auto` (default): higher for accuracies. */
  mode?: Mode;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** The least change that counts as an improvement. Default 0. */
  minDelta?: number;
  /** On stopping (or at the end), load the weights of the best epoch. Default false. */
  restoreBestWeights?: boolean;
}

/**
 * Stops training when the monitored figure has not improved for
 * `patience` epochs, as Keras's `EarlyStopping`.
 *
 * @example
 * callbacks: [earlyStopping({ monitor: 'valLoss', patience: 3, restoreBestWeights: true })]
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): Callback & {
  /** The best epoch seen and its figure. */
  readonly best: { epoch: number; value: number } | null;
} {
  const monitor = options.monitor ?? 'valLoss';
  const mode = modeOf(monitor, options.mode ?? 'auto');
  const patience = options.patience ?? 0;
  const minDelta = Math.abs(options.minDelta ?? 0);
  if (!Number.isInteger(patience) || patience < 0) {
    throw new FitError(`earlyStopping: patience must be an integer ≥ 0, got ${patience}`);
  }
  nonNegative('earlyStopping', 'minDelta', minDelta);
  let best: { epoch: number; value: number } | null = null;
  let bestWeights: StateDict | null = null;
  let wait = 0;
  return {
    monitors: [monitor],
    get best() {
      return best;
    },
    onTrainBegin() {
      best = null;
      bestWeights = null;
      wait = 0;
    },
    onEpochEnd(logs, ctx) {
      const value = logs[monitor]!;
      const better =
        best === null ||
        (mode === 'min' ? value < best.value - minDelta : value > best.value + minDelta);
      if (better && !Number.isNaN(value)) {
        best = { epoch: logs.epoch, value };
        wait = 0;
        if (options.restoreBestWeights) bestWeights = ctx.model.stateDict();
        return;
      }
      wait++;
      if (wait > patience) {
        ctx.stopTraining = true;
        ctx.stopReason = `earlyStopping: ${monitor} did not improve on ${best?.value} (epoch ${best?.epoch}) for ${wait} epoch${wait === 1 ? '' : 's'}`;
      }
    },
    onTrainEnd(_history, ctx) {
      if (bestWeights && best && best.epoch !== ctx.history.last?.epoch)
        ctx.model.loadStateDict(bestWeights);
    },
  };
}

/** What `modelCheckpoint` hands its `save` function. */
export interface CheckpointInfo {
  readonly epoch: number;
  readonly value: number;
  readonly logs: EpochLogs;
  readonly ctx: FitContext;
}

/** Options of `modelCheckpoint`. */
export interface ModelCheckpointOptions {
  /** The epoch figure that decides which epoch is best. Default `valLoss`. */
  monitor?: string;
  /** Whether lower or higher is better; `auto` (default): higher for accuracies. */
  mode?: Mode;
  /**
   * Writes a checkpoint of the best epoch so far (called on every
   * improvement, and awaited). Without it, the best weights are kept in
   * memory (`best.state`).
   */
  save?: (model: Module, info: CheckpointInfo) => void | Promise<void>;
  /** Save after every epoch, not only on an improvement. Default false. */
  saveEveryEpoch?: boolean;
  /** At the end of training (stopped or not), load the best epoch's weights. Default false. */
  restoreBest?: boolean;
}

/**
 * Keeps the best model by a monitored figure, as Keras's `ModelCheckpoint`
 * with `save_best_only`: on every improvement it calls `save` (or keeps
 * the weights in memory). To write files, pass a `save` that uses the
 * checkpoint functions of `@neurite/nn/node`, which store the optimiser's
 * state too, so that training resumes exactly.
 *
 * @example
 * import { saveCheckpoint } from '@neurite/nn/node';
 * const best = modelCheckpoint({
 *   monitor: 'valAccuracy',
 *   save: (model, { epoch, logs, ctx }) =>
 *     saveCheckpoint('best.safetensors', model, { optimizer: ctx.optimizer, meta: { epoch, ...logs } }),
 * });
 */
export function modelCheckpoint(options: ModelCheckpointOptions = {}): Callback & {
  /** The best epoch so far, its figure, and (without `save`) its weights. */
  readonly best: { epoch: number; value: number; state: StateDict | null } | null;
} {
  const monitor = options.monitor ?? 'valLoss';
  const mode = modeOf(monitor, options.mode ?? 'auto');
  let best: { epoch: number; value: number; state: StateDict | null } | null = null;
  return {
    monitors: [monitor],
    get best() {
      return best;
    },
    onTrainBegin() {
      best = null;
    },
    async onEpochEnd(logs, ctx) {
      const value = logs[monitor]!;
      const better =
        !Number.isNaN(value) &&
        (best === null || (mode === 'min' ? value < best.value : value > best.value));
      if (better) {
        best = { epoch: logs.epoch, value, state: options.save ? null : ctx.model.stateDict() };
      }
      if ((better || options.saveEveryEpoch) && options.save) {
        await options.save(ctx.model, { epoch: logs.epoch, value, logs, ctx });
      }
    },
    onTrainEnd(history, ctx) {
      if (!options.restoreBest || !best) return;
      if (best.epoch === history.last?.epoch && !history.stopped) return;
      if (!best.state) {
        throw new FitError(
          'modelCheckpoint: restoreBest needs the weights in memory; with a save function, reload the saved checkpoint instead',
        );
      }
      ctx.model.loadStateDict(best.state);
    },
  };
}

/** When a schedule acts: before every batch (steps) or every epoch. */
export type SchedulePeriod = 'batch' | 'epoch';

/**
 * Sets the learning rate from a function of the step (0-based, counted over
 * this run, or the epoch with `per: 'epoch'`) before each batch or epoch.
 *
 * @example
 * callbacks: [lrSchedule((step) => 1e-3 * 0.999 ** step)]
 */
export function lrSchedule(
  rate: (step: number, ctx: FitContext) => number,
  { per = 'batch' }: { per?: SchedulePeriod } = {},
): Callback {
  if (per === 'batch') {
    return {
      onBatchBegin(_batch, ctx) {
        ctx.optimizer.lr = rate(ctx.step, ctx);
      },
    };
  }
  return {
    onEpochBegin(epoch, ctx) {
      ctx.optimizer.lr = rate(epoch - 1, ctx);
    },
  };
}

/** Options of `warmupCosine`. */
export interface WarmupCosineOptions {
  /** The peak learning rate. Default: the optimiser's at the start of training (required to resume). */
  peak?: number;
  /** Warm-up steps: a count, or a fraction (< 1) of the run's steps (all epochs'). Default 0. */
  warmup?: number;
  /** The rate at the end of the cosine. Default 0. */
  min?: number;
}

/**
 * A linear warm-up from peak/W to the peak over the first W steps, then a
 * cosine from the peak down to `min` at the last step of the run; set
 * before every batch. Step s of T: s < W gives peak·(s+1)/W, else
 * min + (peak − min)·(1 + cos(π·min(1, (s − W)/max(1, T − W))))/2.
 * Steps count from the first epoch, so a run resumed with `initialEpoch`
 * continues the schedule where it stopped; resuming needs `peak` (the
 * optimiser's rate then is the schedule's, not its peak).
 *
 * @example
 * callbacks: [warmupCosine({ warmup: 0.05 })] // 5% of the steps warming up
 */
export function warmupCosine(options: WarmupCosineOptions = {}): Callback {
  const min = options.min ?? 0;
  nonNegative('warmupCosine', 'min', min);
  nonNegative('warmupCosine', 'warmup', options.warmup ?? 0);
  if (options.peak !== undefined) nonNegative('warmupCosine', 'peak', options.peak);
  let peak = 0;
  let warmup = 0;
  let done = 0;
  let total = 0;
  return {
    onTrainBegin(ctx) {
      if (ctx.initialEpoch > 0 && options.peak === undefined) {
        throw new FitError(
          `warmupCosine: resuming at epoch ${ctx.initialEpoch + 1} needs { peak }: the optimiser's learning rate now (${ctx.optimizer.lr}) is the schedule's, not its peak`,
        );
      }
      peak = options.peak ?? ctx.optimizer.lr;
      done = ctx.initialEpoch * ctx.batches;
      total = ctx.epochs * ctx.batches;
      const w = options.warmup ?? 0;
      warmup = w < 1 ? Math.floor(total * w) : Math.floor(w);
    },
    onBatchBegin(_batch, ctx) {
      const s = done + ctx.step;
      if (s < warmup) ctx.optimizer.lr = (peak * (s + 1)) / warmup;
      else {
        const t = Math.min(1, (s - warmup) / Math.max(1, total - warmup));
        ctx.optimizer.lr = min + 0.5 * (peak - min) * (1 + Math.cos(Math.PI * t));
      }
    },
  };
}

/**
 * Steps an `LRSchedule` of @neurite/nn (`StepLR`, `CosineLR`) after every
 * epoch (default) or batch, as PyTorch's loop calls `scheduler.step()`.
 *
 * @example
 * callbacks: [scheduler(new StepLR(opt, { stepSize: 10, gamma: 0.5 }))]
 */
export function scheduler(
  schedule: LRSchedule,
  { per = 'epoch' }: { per?: SchedulePeriod } = {},
): Callback {
  return per === 'epoch'
    ? { onEpochEnd: () => schedule.step() }
    : { onBatchEnd: () => schedule.step() };
}

/** Options of `reduceLROnPlateau`, as PyTorch's `ReduceLROnPlateau`. */
export interface ReduceLROnPlateauOptions {
  /** Default `valLoss`. */
  monitor?: string;
  mode?: Mode;
  /** The rate is multiplied by this. Default 0.1. */
  factor?: number;
  /** Epochs without improvement before reducing. Default 10. */
  patience?: number;
  /** Least improvement that counts. Default 1e-4. */
  threshold?: number;
  /** `rel` (default): relative to the best; `abs`: absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** The rate never goes below this. Default 0. */
  minLr?: number;
  /** Reductions smaller than this are skipped. Default 1e-8. */
  eps?: number;
}

/**
 * Multiplies the learning rate by `factor` when the monitored figure has
 * not improved for `patience` epochs, as PyTorch's `ReduceLROnPlateau`.
 *
 * @example
 * callbacks: [reduceLROnPlateau({ monitor: 'valLoss', factor: 0.5, patience: 2 })]
 */
export function reduceLROnPlateau(options: ReduceLROnPlateauOptions = {}): Callback {
  const monitor = options.monitor ?? 'valLoss';
  const mode = modeOf(monitor, options.mode ?? 'auto');
  const factor = options.factor ?? 0.1;
  if (!(factor > 0 && factor < 1)) {
    throw new FitError(`reduceLROnPlateau: factor must be in (0, 1), got ${factor}`);
  }
  const patience = options.patience ?? 10;
  const threshold = options.threshold ?? 1e-4;
  const thresholdMode = options.thresholdMode ?? 'rel';
  const cooldown = options.cooldown ?? 0;
  const minLr = options.minLr ?? 0;
  const eps = options.eps ?? 1e-8;
  for (const [field, v] of [
    ['patience', patience],
    ['threshold', threshold],
    ['cooldown', cooldown],
    ['minLr', minLr],
    ['eps', eps],
  ] as const) {
    nonNegative('reduceLROnPlateau', field, v);
  }
  let best = mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  let bad = 0;
  let cooling = 0;
  const improves = (v: number) => {
    if (mode === 'min')
      return thresholdMode === 'rel' ? v < best * (1 - threshold) : v < best - threshold;
    return thresholdMode === 'rel' ? v > best * (1 + threshold) : v > best + threshold;
  };
  return {
    monitors: [monitor],
    onTrainBegin() {
      best = mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
      bad = 0;
      cooling = 0;
    },
    onEpochEnd(logs, ctx) {
      const v = logs[monitor]!;
      if (improves(v)) {
        best = v;
        bad = 0;
      } else bad++;
      if (cooling > 0) {
        cooling--;
        bad = 0;
      }
      if (bad > patience) {
        const old = ctx.optimizer.lr;
        const next = Math.max(old * factor, minLr);
        if (old - next > eps) ctx.optimizer.lr = next;
        cooling = cooldown;
        bad = 0;
      }
    },
  };
}

/** What a progress reporter shows, at each stage of training. */
export type Progress =
  | {
      readonly phase: 'epochBegin';
      readonly epoch: number;
      readonly epochs: number;
      readonly batches: number;
    }
  | ({ readonly phase: 'batch'; readonly epochs: number } & BatchLogs)
  | { readonly phase: 'epochEnd'; readonly epochs: number; readonly logs: EpochLogs }
  | { readonly phase: 'end'; readonly stopped: boolean; readonly samplesPerSecond: number };

/**
 * Reports training's progress to `render`: at each epoch's start, after
 * batches (at most once every `every` ms, and after the epoch's last), at
 * each epoch's end, and at the end. A CLI draws its bar from it, a web
 * page its panel.
 *
 * @example
 * callbacks: [progress((p) => {
 *   if (p.phase === 'batch') bar.update(p.batch, p.batches, p.loss);
 *   if (p.phase === 'epochEnd') console.log(`epoch ${p.logs.epoch}: loss ${p.logs.loss.toFixed(4)}`);
 * })]
 */
export function progress(
  render: (progress: Progress) => void,
  { every = 100 }: { every?: number } = {},
): Callback {
  nonNegative('progress', 'every', every);
  let last = 0;
  return {
    onEpochBegin(epoch, ctx) {
      render({ phase: 'epochBegin', epoch, epochs: ctx.epochs, batches: ctx.batches });
    },
    onBatchEnd(logs, ctx) {
      const now = performance.now();
      if (now - last < every && logs.batch !== logs.batches) return;
      last = now;
      render({ phase: 'batch', epochs: ctx.epochs, ...logs, metrics: { ...logs.metrics } });
    },
    onEpochEnd(logs, ctx) {
      render({ phase: 'epochEnd', epochs: ctx.epochs, logs });
    },
    onTrainEnd(history) {
      render({
        phase: 'end',
        stopped: history.stopped,
        samplesPerSecond: history.samplesPerSecond,
      });
    },
  };
}
