import { assignInPlace, type DType, Tensor, where } from '@neurite/tensor';
import { checkRange, type Hyperparameters, numberIn, Optimizer } from './optimizer.js';

/** Options of `Adam` and `AdamW`. */
export interface AdamOptions {
  /** Learning rate η. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator for stability. Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay. Default 0 (AdamW 0.01). */
  weightDecay?: number;
}

/** The smallest normal number of each floating dtype. */
const MIN_NORMAL: Partial<Record<DType, number>> = { float32: 2 ** -126, float64: 2 ** -1022 };

/**
 * x with its subnormal values made +0. The first moment of a weight whose
 * gradient has stopped (a pixel blank in the batches seen lately, a dead
 * unit) decays by β₁ a step and passes through the subnormal range for some
 * 150 steps, after about 750; on x86 each arithmetic operation on a
 * subnormal costs about a hundred normal ones, and 2% of such weights made
 * the update of a 784×16 layer four times slower. The values dropped are
 * below 1.2e-38, so the parameters move by less than 1e-30 less than they
 * would have. NaN and ±∞ are kept. The second moment decays by β₂ and would
 * need some 70,000 steps without a gradient to get there: it is left alone,
 * the test costing a tenth of the loop.
 */
function flushSubnormal(x: Tensor): Tensor {
  const tiny = MIN_NORMAL[x.dtype];
  return tiny === undefined ? x : where(x.abs().lt(tiny), 0, x);
}

/**
 * The Adam update shared by `Adam` and `AdamW`; they differ only in how
 * weight decay enters.
 */
abstract class AdamBase extends Optimizer {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Steps taken, β₁ᵗ and β₂ᵗ, as float64 scalars updated in place each step. */
  readonly stepCount = Tensor.scalar(0, 'float64');
  readonly beta1Power = Tensor.scalar(1, 'float64');
  readonly beta2Power = Tensor.scalar(1, 'float64');
  private readonly decoupled: boolean;
  private readonly m: Tensor[];
  private readonly v: Tensor[];

  protected constructor(
    type: string,
    decoupled: boolean,
    params: Iterable<Tensor>,
    options: AdamOptions,
  ) {
    super(type, params, options.lr ?? 1e-3);
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = decoupled;
    this.validate();
    this.m = this.params.map((p) => this.zerosFor(p));
    this.v = this.params.map((p) => this.zerosFor(p));
  }

  private validate(): void {
    checkRange(this.type, 'betas[0]', this.beta1, 0, 1);
    checkRange(this.type, 'betas[1]', this.beta2, 0, 1);
    checkRange(this.type, 'eps', this.eps, 0, Number.POSITIVE_INFINITY);
    checkRange(this.type, 'weightDecay', this.weightDecay, 0, Number.POSITIVE_INFINITY);
  }

  protected update(grads: readonly (Tensor | null)[]): void {
    const b1t = this.beta1Power.mul(this.beta1);
    const b2t = this.beta2Power.mul(this.beta2);
    assignInPlace(this.beta1Power, b1t);
    assignInPlace(this.beta2Power, b2t);
    assignInPlace(this.stepCount, this.stepCount.add(1));
    // Scalars are computed in float64 and rounded once to each parameter's
    // dtype: 1 − β₂ᵗ in float32 would be off by 1e-5 relative.
    const lr64 = this.lrTensor.cast('float64');
    const stepSize = lr64.div(b1t.neg().add(1));
    // Multiplied by, not divided by, for each element: one division fewer.
    const bc2SqrtInv = Tensor.scalar(1, 'float64').div(b2t.neg().add(1).sqrt());
    const shrink =
      this.decoupled && this.weightDecay !== 0 ? lr64.mul(this.weightDecay).neg().add(1) : null;
    // Rounded to each dtype before the per-parameter updates, so that those
    // follow one another and a compiled step fuses them into one loop.
    const scalars = new Map<
      DType,
      { stepSize: Tensor; bc2SqrtInv: Tensor; shrink: Tensor | null }
    >();
    for (const p of this.params) {
      if (scalars.has(p.dtype)) continue;
      scalars.set(p.dtype, {
        stepSize: stepSize.cast(p.dtype),
        bc2SqrtInv: bc2SqrtInv.cast(p.dtype),
        shrink: shrink?.cast(p.dtype) ?? null,
      });
    }
    this.params.forEach((p, i) => {
      let g = grads[i];
      if (!g) return;
      const s = scalars.get(p.dtype)!;
      let base = p;
      if (s.shrink) base = p.mul(s.shrink);
      else if (this.weightDecay !== 0) g = g.add(p.mul(this.weightDecay));
      const m = this.m[i]!;
      const v = this.v[i]!;
      const mNext = flushSubnormal(m.mul(this.beta1).add(g.mul(1 - this.beta1)));
      const vNext = v.mul(this.beta2).add(g.mul(g).mul(1 - this.beta2));
      assignInPlace(m, mNext);
      assignInPlace(v, vNext);
      const denom = vNext.sqrt().mul(s.bc2SqrtInv).add(this.eps);
      assignInPlace(p, base.sub(mNext.div(denom).mul(s.stepSize)));
    });
  }

  protected hyperparameters(): Hyperparameters {
    return { beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay };
  }

  protected setHyperparameters(hyper: Hyperparameters): void {
    this.beta1 = numberIn(hyper, 'beta1', this.type);
    this.beta2 = numberIn(hyper, 'beta2', this.type);
    this.eps = numberIn(hyper, 'eps', this.type);
    this.weightDecay = numberIn(hyper, 'weightDecay', this.type);
    this.validate();
  }

  protected buffers(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {
      step: this.stepCount,
      beta1Power: this.beta1Power,
      beta2Power: this.beta2Power,
    };
    this.params.forEach((_, i) => {
      out[`params.${i}.m`] = this.m[i]!;
      out[`params.${i}.v`] = this.v[i]!;
    });
    return out;
  }
}

/**
 * Adam with bias-corrected moments, as PyTorch's `Adam`:
 * g ← ∇ + λp; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
 * p ← p − η/(1−β₁ᵗ) · m / (√v·(1/√(1−β₂ᵗ)) + ε), m with its subnormal
 * values made zero (see `flushSubnormal`).
 *
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 */
export class Adam extends AdamBase {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('Adam', false, params, options);
  }
}

/**
 * Adam with decoupled weight decay, as PyTorch's `AdamW`: p ← p·(1 − ηλ)
 * before the Adam update (the gradient is left alone). λ defaults to 0.01.
 *
 * @example
 * const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.01 });
 */
export class AdamW extends AdamBase {
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super('AdamW', true, params, { ...options, weightDecay: options.weightDecay ?? 0.01 });
  }
}
