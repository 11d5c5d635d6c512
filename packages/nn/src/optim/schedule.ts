import { OptimizerError, StateDictError } from '../errors.js';
import type { Optimizer } from './optimizer.js';

/** What a schedule needs to resume: its kind, base learning rate and steps taken. */
export interface ScheduleState {
  type: string;
  baseLr: number;
  epoch: number;
}

/**
 * A learning-rate schedule: `step()` advances it by one (call it once per
 * epoch, or once per iteration, as you choose) and writes the new rate into
 * the optimiser's `lrTensor`. The rate at construction is `lrAt(0)`.
 */
export abstract class LRSchedule {
  readonly optimizer: Optimizer;
  /** The learning rate the schedule scales: the optimiser's at construction. */
  baseLr: number;
  /** How many times `step()` has been called. */
  epoch = 0;
  readonly type: string;

  protected constructor(type: string, optimizer: Optimizer) {
    this.type = type;
    this.optimizer = optimizer;
    this.baseLr = optimizer.lr;
  }

  /** The learning rate after `t` steps. */
  abstract lrAt(t: number): number;

  /** Advances the schedule by one and sets the optimiser's learning rate. */
  step(): void {
    this.epoch += 1;
    this.optimizer.lr = this.lrAt(this.epoch);
  }

  /** The schedule's position, for resuming. */
  stateDict(): ScheduleState {
    return { type: this.type, baseLr: this.baseLr, epoch: this.epoch };
  }

  /** Restores a position taken by `stateDict()` and the learning rate that goes with it. */
  loadStateDict(state: ScheduleState): void {
    if (state.type !== this.type)
      throw new StateDictError(
        `${this.type}.loadStateDict: the state is of a ${state.type} schedule`,
      );
    if (!Number.isInteger(state.epoch) || state.epoch < 0)
      throw new StateDictError(
        `${this.type}.loadStateDict: epoch must be a non-negative integer, got ${state.epoch}`,
      );
    // Checked here, not by the optimiser's lr setter after baseLr changed: a refused state changes nothing.
    if (typeof state.baseLr !== 'number' || !(Number.isFinite(state.baseLr) && state.baseLr >= 0))
      throw new StateDictError(
        `${this.type}.loadStateDict: baseLr must be a finite non-negative number, got ${state.baseLr}`,
      );
    this.baseLr = state.baseLr;
    this.epoch = state.epoch;
    this.optimizer.lr = this.lrAt(this.epoch);
  }
}

function positiveInt(type: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw new OptimizerError(`${type}: ${name} must be a positive integer, got ${v}`);
}

/**
 * Multiplies the learning rate by `gamma` every `stepSize` steps:
 * η·γ^⌊t / stepSize⌋, as PyTorch's `StepLR`.
 *
 * @example
 * const schedule = new StepLR(opt, { stepSize: 10, gamma: 0.5 });
 * for (let epoch = 0; epoch < 30; epoch++) { trainOneEpoch(); schedule.step(); }
 */
export class StepLR extends LRSchedule {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(
    optimizer: Optimizer,
    { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number },
  ) {
    super('StepLR', optimizer);
    positiveInt('StepLR', 'stepSize', stepSize);
    if (!(Number.isFinite(gamma) && gamma > 0))
      throw new OptimizerError(`StepLR: gamma must be a positive number, got ${gamma}`);
    this.stepSize = stepSize;
    this.gamma = gamma;
  }

  lrAt(t: number): number {
    return this.baseLr * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/**
 * Cosine annealing from the base rate to `etaMin` over `tMax` steps, held at
 * `etaMin` after. With `warmup` W, the first W steps ramp linearly from 0
 * (η·t/W) and the cosine covers steps W…tMax.
 *
 * @example
 * const schedule = new CosineLR(opt, { tMax: 30, etaMin: 1e-5, warmup: 2 });
 */
export class CosineLR extends LRSchedule {
  readonly tMax: number;
  readonly etaMin: number;
  readonly warmup: number;

  constructor(
    optimizer: Optimizer,
    { tMax, etaMin = 0, warmup = 0 }: { tMax: number; etaMin?: number; warmup?: number },
  ) {
    super('CosineLR', optimizer);
    positiveInt('CosineLR', 'tMax', tMax);
    if (!(Number.isFinite(etaMin) && etaMin >= 0))
      throw new OptimizerError(`CosineLR: etaMin must be a non-negative number, got ${etaMin}`);
    if (!Number.isInteger(warmup) || warmup < 0 || warmup >= tMax)
      throw new OptimizerError(
        `CosineLR: warmup must be an integer in [0, tMax = ${tMax}), got ${warmup}`,
      );
    this.tMax = tMax;
    this.etaMin = etaMin;
    this.warmup = warmup;
    optimizer.lr = this.lrAt(0);
  }

  lrAt(t: number): number {
    if (t < this.warmup) return (this.baseLr * t) / this.warmup;
    if (t >= this.tMax) return this.etaMin;
    const progress = (t - this.warmup) / (this.tMax - this.warmup);
    return this.etaMin + ((this.baseLr - this.etaMin) * (1 + Math.cos(Math.PI * progress))) / 2;
  }
}
