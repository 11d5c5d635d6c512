import { bernoulli, type Rng, type Tensor } from '@neurite/tensor';
import { Module } from '../module.js';
import { toRng } from '../random.js';

/**
 * Zeroes each input with probability `rate` while training and scales the
 * rest by 1/(1 − rate), so evaluation (where it passes values through) sees
 * the same expected activations. The masks come from a seeded generator,
 * drawn by an op, so a compiled training step draws a fresh mask each step.
 *
 * @example
 * const drop = new Dropout(0.2, { rng: 7 });
 * drop.forward(x);        // training: about 20% zeroed
 * drop.eval().forward(x); // x itself
 */
export class Dropout extends Module {
  readonly rate: number;
  /** The generator the masks are drawn from; its state can be saved and restored. */
  readonly rng: Rng;

  constructor(rate: number, { rng }: { rng?: Rng | number } = {}) {
    super();
    if (!(rate >= 0 && rate < 1))
      throw new RangeError(`Dropout: rate must be in [0, 1), got ${rate}`);
    this.rate = rate;
    this.rng = toRng(rng);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.rate === 0) return x;
    const keep = 1 - this.rate;
    const dtype = x.dtype === 'float64' ? 'float64' : 'float32';
    return x.mul(bernoulli(x.shape, keep, this.rng, { value: 1 / keep, dtype }));
  }

  override toString(): string {
    return `Dropout(${this.rate})`;
  }
}
