import { type DType, isFloat } from '../dtype.js';
import { apply } from '../engine.js';
import { DTypeError, NeuriteError, ShapeError } from '../errors.js';
import { defineOp, type Op } from '../op.js';
import type { Rng } from '../rng.js';
import type { Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { noTangent } from '../transforms/rules.js';

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
export const bernoulliOp: Op<BernoulliAttrs> = defineOp<BernoulliAttrs>({
  name: 'bernoulli',
  infer: (_inputs, { shape, dtype }) => ({ shape, dtype }),
  kernel:
    (_inputs, _out, { p, value, rng }) =>
    (o) => {
      for (let i = 0; i < o.length; i++) o[i] = rng.float() < p ? value : 0;
    },
  jvp: noTangent,
  // No inputs, so never batched: every example sees the same draw.
  batch: (_inputs, _b, attrs) => apply(bernoulliOp, [], attrs),
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

/** Attributes of `multinomial`. */
export interface MultinomialAttrs {
  readonly numSamples: number;
  readonly replacement: boolean;
  readonly rng: Rng;
}

const fmtShape = (shape: Shape) => `[${shape.join(', ')}]`;

/**
 * Category draws by weight, a row at a time, as an op (so a compiled step
 * draws afresh on each replay, from the same stream as eager). One
 * `rng.float()` per draw: u·(sum of the row's remaining weights) is located
 * in the running sums, so a weight of 0 is never drawn. Weights are checked
 * as the kernel reads them, since they are values, not shapes.
 */
export const multinomialOp: Op<MultinomialAttrs> = defineOp<MultinomialAttrs>({
  name: 'multinomial',
  infer: ([probs], { numSamples, replacement }) => {
    const p = probs!;
    if (!isFloat(p.dtype)) {
      throw new DTypeError(`multinomial: probs must be float, got ${p.dtype} ${fmtShape(p.shape)}`);
    }
    if (p.ndim < 1 || p.shape[p.ndim - 1] === 0) {
      throw new ShapeError(
        `multinomial: probs ${fmtShape(p.shape)} needs a last axis of at least one category`,
      );
    }
    const categories = p.shape[p.ndim - 1]!;
    if (!replacement && numSamples > categories) {
      throw new ShapeError(
        `multinomial: ${numSamples} samples without replacement from probs ${fmtShape(p.shape)} of only ${categories} categories`,
      );
    }
    return { shape: [...p.shape.slice(0, -1), numSamples], dtype: 'int32' };
  },
  kernel: ([probs], _out, { numSamples, replacement, rng }) => {
    const k = probs!.shape[probs!.shape.length - 1]!;
    const rows = probs!.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const sums = new Float64Array(k);
    const weights = new Float64Array(k);
    return (o, [p]) => {
      for (let r = 0; r < rows; r++) {
        let positive = 0;
        for (let c = 0; c < k; c++) {
          const w = p![r * k + c]!;
          if (!(w >= 0 && w < Number.POSITIVE_INFINITY)) {
            throw new NeuriteError(
              `multinomial: probs ${fmtShape(probs!.shape)} has ${w} at row ${r}, category ${c}; weights must be finite and ≥ 0`,
            );
          }
          weights[c] = w;
          if (w > 0) positive++;
        }
        if (positive === 0 || (!replacement && positive < numSamples)) {
          throw new NeuriteError(
            `multinomial: row ${r} of probs ${fmtShape(probs!.shape)} has ${positive} categories of positive weight, too few for ${numSamples} draw${numSamples === 1 ? '' : 's'}${replacement ? '' : ' without replacement'}`,
          );
        }
        for (let s = 0; s < numSamples; s++) {
          let total = 0;
          let last = 0;
          for (let c = 0; c < k; c++) {
            total += weights[c]!;
            sums[c] = total;
            if (weights[c]! > 0) last = c;
          }
          const u = rng.float() * total;
          // The first category whose running sum exceeds u (binary search: sums never decrease).
          let lo = 0;
          let hi = last;
          while (lo < hi) {
            const mid = (lo + hi) >> 1;
            if (sums[mid]! > u) hi = mid;
            else lo = mid + 1;
          }
          o[r * numSamples + s] = lo;
          if (!replacement) weights[lo] = 0;
        }
      }
    };
  },
  jvp: noTangent,
  // Rows are drawn independently: the batch is more rows.
  batch: ([probs], _b, attrs) => apply(multinomialOp, [probs!], attrs),
  describe: ({ numSamples, replacement }) => `n=${numSamples}${replacement ? ' replacement' : ''}`,
});

/**
 * Draws `numSamples` category indices per row of `probs` (non-negative
 * weights on the last axis, not necessarily summing to 1), as PyTorch's
 * `torch.multinomial`: int32 of shape [...probs.shape[:-1], numSamples].
 * Without `replacement` (the default, as in PyTorch) a row's draws are
 * distinct. The draws come from `rng`, one `rng.float()` each, so the same
 * seed gives the same samples, eager or compiled.
 *
 * @example
 * const rng = new Rng(1);
 * multinomial(tensor([0.1, 0.6, 0.3]), 5, { replacement: true, rng }); // e.g. [1, 2, 1, 1, 0]
 */
export function multinomial(
  probs: Tensor,
  numSamples: number,
  { replacement = false, rng }: { replacement?: boolean; rng: Rng },
): Tensor {
  if (!Number.isInteger(numSamples) || numSamples < 1) {
    throw new NeuriteError(`multinomial: numSamples must be a positive integer, got ${numSamples}`);
  }
  if (!rng || typeof rng.float !== 'function') {
    throw new NeuriteError('multinomial: rng must be an Rng (a seeded generator)');
  }
  return apply(multinomialOp, [probs.detach()], { numSamples, replacement, rng });
}

/**
 * Draws one category per row from the softmax of `logits` (the last axis),
 * as sampling PyTorch's `Categorical(logits=…)`: int32 of shape
 * logits.shape[:-1] (or [..., numSamples] with `numSamples`). What a
 * language model samples its next token with.
 *
 * @example
 * const next = categorical(model.forward(context).div(temperature), { rng }); // [batch]
 */
export function categorical(
  logits: Tensor,
  { rng, numSamples }: { rng: Rng; numSamples?: number },
): Tensor {
  const draws = multinomial(logits.detach().softmax(-1), numSamples ?? 1, {
    replacement: true,
    rng,
  });
  return numSamples === undefined ? draws.squeeze([draws.ndim - 1]) : draws;
}
