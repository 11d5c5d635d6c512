import { assignInPlace, Tensor } from '@neurite/tensor';
import { StateDictError } from '../errors.js';
import { checkRange, type Hyperparameters, numberIn, Optimizer } from './optimizer.js';

/** Options of `RMSprop`, with PyTorch's names and defaults. */
export interface RMSpropOptions {
  /** Learning rate η. Default 0.01. */
  lr?: number;
  /** Smoothing constant α of the running mean of squared gradients. Default 0.99. */
  alpha?: number;
  /** Added to the denominator for stability. Default 1e-8. */
  eps?: number;
  /** L2 penalty λ added to the gradient. Default 0. */
  weightDecay?: number;
  /** Momentum μ of the update. Default 0. */
  momentum?: number;
  /** Divide by an estimate of the gradient's variance (subtracting the running mean's square) instead of its second moment. Default false. */
  centered?: boolean;
}

/**
 * RMSprop as PyTorch's `RMSprop`:
 * g ← ∇ + λp; v ← αv + (1−α)g²; with `centered`, ḡ ← αḡ + (1−α)g and
 * d = √(v − ḡ²) + ε, else d = √v + ε; with momentum b ← μb + g/d and
 * p ← p − ηb, else p ← p − η·g/d.
 * Its state dict holds `params.i.squareAvg`, `params.i.momentum` (with
 * momentum), `params.i.gradAvg` (centered) and `step`.
 *
 * @example
 * const opt = new RMSprop(model.parameters(), { lr: 1e-3, momentum: 0.9 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 */
export class RMSprop extends Optimizer {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  readonly centered: boolean;
  /** Steps taken, as a float64 scalar updated in place. */
  readonly stepCount: Tensor;
  private readonly squareAvg: Tensor[];
  private readonly momentumBuffers: Tensor[];
  private readonly gradAvg: Tensor[];

  constructor(params: Iterable<Tensor>, options: RMSpropOptions = {}) {
    super('RMSprop', params, options.lr ?? 0.01);
    this.alpha = options.alpha ?? 0.99;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.momentum = options.momentum ?? 0;
    this.centered = options.centered ?? false;
    this.validate();
    this.stepCount = Tensor.scalar(0, 'float64');
    this.squareAvg = this.params.map((p) => this.zerosFor(p));
    this.momentumBuffers = this.momentum > 0 ? this.params.map((p) => this.zerosFor(p)) : [];
    this.gradAvg = this.centered ? this.params.map((p) => this.zerosFor(p)) : [];
  }

  private validate(): void {
    checkRange(this.type, 'alpha', this.alpha, 0, 1, true);
    checkRange(this.type, 'eps', this.eps, 0, Number.POSITIVE_INFINITY);
    checkRange(this.type, 'weightDecay', this.weightDecay, 0, Number.POSITIVE_INFINITY);
    checkRange(this.type, 'momentum', this.momentum, 0, Number.POSITIVE_INFINITY);
  }

  protected update(grads: readonly (Tensor | null)[]): void {
    assignInPlace(this.stepCount, this.stepCount.add(1));
    const a = this.alpha;
    this.params.forEach((p, i) => {
      let g = grads[i];
      if (!g) return;
      if (this.weightDecay !== 0) g = g.add(p.mul(this.weightDecay));
      const v = this.squareAvg[i]!;
      const vNext = v.mul(a).add(g.mul(g).mul(1 - a));
      assignInPlace(v, vNext);
      let avg: Tensor;
      if (this.centered) {
        const ga = this.gradAvg[i]!;
        const gaNext = ga.mul(a).add(g.mul(1 - a));
        assignInPlace(ga, gaNext);
        avg = vNext.sub(gaNext.mul(gaNext)).sqrt().add(this.eps);
      } else {
        avg = vNext.sqrt().add(this.eps);
      }
      const buf = this.momentumBuffers[i];
      if (buf) {
        const next = buf.mul(this.momentum).add(g.div(avg));
        assignInPlace(buf, next);
        assignInPlace(p, p.sub(next.mul(this.lrTensor)));
      } else {
        assignInPlace(p, p.sub(g.div(avg).mul(this.lrTensor)));
      }
    });
  }

  protected hyperparameters(): Hyperparameters {
    return {
      alpha: this.alpha,
      eps: this.eps,
      weightDecay: this.weightDecay,
      momentum: this.momentum,
      centered: this.centered,
    };
  }

  protected setHyperparameters(hyper: Hyperparameters): void {
    const momentum = numberIn(hyper, 'momentum', this.type);
    if (momentum > 0 !== this.momentumBuffers.length > 0 || hyper.centered !== this.centered) {
      throw new StateDictError(
        `RMSprop.loadStateDict: the state has momentum ${momentum} and centered ${hyper.centered}, this optimiser ${this.momentum} and ${this.centered}; their buffers differ`,
      );
    }
    this.alpha = numberIn(hyper, 'alpha', this.type);
    this.eps = numberIn(hyper, 'eps', this.type);
    this.weightDecay = numberIn(hyper, 'weightDecay', this.type);
    this.momentum = momentum;
    this.validate();
  }

  protected buffers(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { step: this.stepCount };
    this.params.forEach((_, i) => {
      out[`params.${i}.squareAvg`] = this.squareAvg[i]!;
      if (this.momentumBuffers[i]) out[`params.${i}.momentum`] = this.momentumBuffers[i]!;
      if (this.gradAvg[i]) out[`params.${i}.gradAvg`] = this.gradAvg[i]!;
    });
    return out;
  }
}
