import { assignInPlace, type Tensor } from '@neurite/tensor';
import { OptimizerError, StateDictError } from '../errors.js';
import { checkRange, type Hyperparameters, numberIn, Optimizer } from './optimizer.js';

/** Options of `SGD`. */
export interface SGDOptions {
  /** Learning rate η. */
  lr: number;
  /** Momentum μ in [0, 1); 0 (default) is plain gradient descent. */
  momentum?: number;
  /** Nesterov's look-ahead form of momentum (needs momentum > 0). */
  nesterov?: boolean;
  /** L2 penalty λ: the gradient gets λ·p added. Default 0. */
  weightDecay?: number;
}

/**
 * Stochastic gradient descent as PyTorch's `SGD` without dampening:
 * g ← ∇ + λp; b ← μb + g; p ← p − η·(Nesterov ? g + μb : b).
 *
 * @example
 * const opt = new SGD(model.parameters(), { lr: 3, momentum: 0.9 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 */
export class SGD extends Optimizer {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  private readonly momentumBuffers: Tensor[];

  constructor(
    params: Iterable<Tensor>,
    { lr, momentum = 0, nesterov = false, weightDecay = 0 }: SGDOptions,
  ) {
    super('SGD', params, lr);
    checkRange('SGD', 'momentum', momentum, 0, 1);
    checkRange('SGD', 'weightDecay', weightDecay, 0, Number.POSITIVE_INFINITY);
    if (nesterov && momentum === 0)
      throw new OptimizerError('SGD: nesterov needs a momentum above 0');
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
    // Zero buffers make the first update b = g, as PyTorch's first step does.
    this.momentumBuffers = momentum > 0 ? this.params.map((p) => this.zerosFor(p)) : [];
  }

  protected update(grads: readonly (Tensor | null)[]): void {
    this.params.forEach((p, i) => {
      let g = grads[i];
      if (!g) return;
      if (this.weightDecay !== 0) g = g.add(p.mul(this.weightDecay));
      const buf = this.momentumBuffers[i];
      if (buf) {
        const next = buf.mul(this.momentum).add(g);
        assignInPlace(buf, next);
        g = this.nesterov ? g.add(next.mul(this.momentum)) : next;
      }
      assignInPlace(p, p.sub(g.mul(this.lrTensor)));
    });
  }

  protected hyperparameters(): Hyperparameters {
    return { momentum: this.momentum, nesterov: this.nesterov, weightDecay: this.weightDecay };
  }

  protected setHyperparameters(hyper: Hyperparameters): void {
    const momentum = numberIn(hyper, 'momentum', 'SGD');
    if (momentum > 0 !== this.momentumBuffers.length > 0) {
      throw new StateDictError(
        `SGD.loadStateDict: the state has momentum ${momentum}, this optimiser ${this.momentum}; with and without momentum do not mix`,
      );
    }
    const weightDecay = numberIn(hyper, 'weightDecay', 'SGD');
    const nesterov = hyper.nesterov === true;
    checkRange('SGD', 'momentum', momentum, 0, 1);
    checkRange('SGD', 'weightDecay', weightDecay, 0, Number.POSITIVE_INFINITY);
    if (nesterov && momentum === 0)
      throw new OptimizerError('SGD: nesterov needs a momentum above 0');
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = weightDecay;
  }

  protected buffers(): Record<string, Tensor> {
    return Object.fromEntries(this.momentumBuffers.map((b, i) => [`params.${i}.momentum`, b]));
  }
}
