import { type DType, isFloat } from '../dtype.js';
import { apply } from '../engine.js';
import { DTypeError } from '../errors.js';
import { defineOp } from '../op.js';
import type { Rng } from '../rng.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

/** Where and how a random op draws. */
export interface BernoulliAttrs {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Probability of a 1. */
  readonly p: number;
  /** Value written for a 1 (a dropout mask writes 1/keep). */
  readonly value: number;
  readonly rng: Rng;
}

/**
 * Random draws as an op, not as a constant: its kernel draws from the
 * generator every time it runs, so a compiled step replays fresh masks, and
 * eager and compiled runs from one seed consume the same stream.
 */
export const bernoulliOp = defineOp<BernoulliAttrs>({
  name: 'bernoulli',
  infer: (_inputs, { shape, dtype }) => ({ shape, dtype }),
  kernel:
    (_inputs, _out, { p, value, rng }) =>
    (o) => {
      for (let i = 0; i < o.length; i++) o[i] = rng.float() < p ? value : 0;
    },
  describe: ({ p }) => `p=${p}`,
});

/**
 * A tensor whose entries are `value` with probability `p` and 0 otherwise.
 *
 * @example
 * const keep = bernoulli([64, 16], 0.8, rng, { value: 1 / 0.8 }); // a dropout mask
 */
export function bernoulli(
  shape: Shape,
  p: number,
  rng: Rng,
  { value = 1, dtype = 'float32' }: { value?: number; dtype?: DType } = {},
): Tensor {
  if (!isFloat(dtype) && !Number.isInteger(value)) {
    throw new DTypeError(`bernoulli: value ${value} does not fit dtype ${dtype}`);
  }
  return apply(bernoulliOp, [], { shape: shape.slice(), dtype, p, value, rng });
}
