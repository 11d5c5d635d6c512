import { apply } from '../engine.js';
import type { Batch, Jvp, Op } from '../op.js';
import type { Tensor } from '../tensor.js';

/**
 * Rules shared by many ops of the table: the JVP of an op that is linear in
 * each input, and the batching rules of ops that broadcast or that act on
 * trailing axes only.
 */

/** Sums the non-null terms; null when all are. */
export function total(terms: readonly (Tensor | null | undefined)[]): Tensor | null {
  let sum: Tensor | null = null;
  for (const t of terms) if (t) sum = sum ? sum.add(t) : t;
  return sum;
}

/** `total` as a scalar expression (for `jvpExpr`): the non-null terms added in order, each sum rounded by `r`. */
export function sumOf(
  terms: readonly (string | null | undefined)[],
  r: (expr: string) => string,
): string | null {
  let sum: string | null = null;
  for (const t of terms) if (t) sum = sum ? r(`${sum} + ${t}`) : t;
  return sum;
}

/**
 * The JVP of an op linear in each input separately (a product, a matmul, a
 * convolution; every movement op, with one input): the sum, over the inputs
 * with a tangent, of the op with that input replaced by its tangent.
 */
export function linear<A>(op: () => Op<A>): Jvp<A> {
  return (tangents, inputs, _out, attrs) =>
    total(
      tangents.map((t, k) => {
        if (!t) return null;
        const ins = inputs.slice();
        ins[k] = t;
        return apply(op(), ins, attrs);
      }),
    );
}

/** The JVP of an op whose result has no derivative (integers, steps, draws). */
export const noTangent: Jvp<unknown> = () => null;

/** A batched input with per-example rank raised to `rank` by 1s after the batch axis. */
export function lifted(x: Tensor, rank: number): Tensor {
  const per = x.ndim - 1;
  if (per >= rank) return x;
  return x.reshape([x.shape[0]!, ...new Array<number>(rank - per).fill(1), ...x.shape.slice(1)]);
}

/**
 * Batching for ops that broadcast their inputs (every elementwise op): a
 * batched input gets 1s between its batch axis and its own axes, so that it
 * broadcasts against the others exactly as it did per example.
 */
export function broadcasting<A>(op: () => Op<A>): Batch<A> {
  return (inputs, batched, attrs) => {
    let rank = 0;
    for (let k = 0; k < inputs.length; k++) {
      rank = Math.max(rank, inputs[k]!.ndim - (batched[k] ? 1 : 0));
    }
    // Inputs already of that rank (most often all of them) are passed as they are.
    let lifts: Tensor[] | null = null;
    for (let k = 0; k < inputs.length; k++) {
      if (!batched[k] || inputs[k]!.ndim - 1 >= rank) continue;
      lifts ??= inputs.slice();
      lifts[k] = lifted(inputs[k]!, rank);
    }
    return apply(op(), lifts ?? inputs, attrs);
  };
}

/** Moves every batched input's batch axis into place for ops on the trailing axes only: unbatched ones are broadcast to the batch. */
export function batchAll(
  inputs: readonly Tensor[],
  batched: readonly boolean[],
  size: number,
): Tensor[] {
  return inputs.map((x, k) => (batched[k] ? x : x.expandDims(0).broadcastTo([size, ...x.shape])));
}

/** Shifts axes by the batch axis. */
export const shift = (axes: readonly number[]): number[] => axes.map((a) => a + 1);
