import { type Rng, Tensor } from '@neurite/tensor';
import { Module } from '../module.js';
import { toRng } from '../random.js';

/**
 * Zeroes each input with probability `rate` while training and scales the
 * rest by 1/(1 − rate), so evaluation (where it passes values through) sees
 * the same expected activations. The masks come from a seeded generator.
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
    const scale = 1 / (1 - this.rate);
    const mask = new Tensor(
      x.dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size),
      x.shape,
      x.dtype === 'float64' ? 'float64' : 'float32',
    );
    for (let i = 0; i < mask.data.length; i++) {
      mask.data[i] = this.rng.float() < this.rate ? 0 : scale;
    }
    return x.mul(mask);
  }

  override toString(): string {
    return `Dropout(${this.rate})`;
  }
}
