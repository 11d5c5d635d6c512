import { fmt, NeuriteError } from './errors.js';
import type { Op } from './op.js';
import type { Tensor } from './tensor.js';

/** An op turned finite inputs into NaN or ±∞ while anomaly detection was on. */
export class AnomalyError extends NeuriteError {
  override name = 'AnomalyError';
}

let depth = 0;

/** Whether ops currently check their results for NaN and ±∞. */
export function isAnomalyDetectionEnabled(): boolean {
  return depth > 0;
}

/**
 * Runs `fn` with anomaly detection: every op (gradient ops included) checks
 * its result, and the first one that makes NaN or ±∞ out of finite inputs
 * throws an `AnomalyError` naming the op, its input shapes and where the
 * value is. It costs a pass over every result, so it is for hunting a NaN
 * down, not for training. A compiled function's replays are not checked:
 * run the step uncompiled while hunting.
 *
 * @example
 * detectAnomaly(() => {
 *   const loss = model.forward(x).log().sum(); // throws at `log` if an input is ≤ 0
 *   loss.backward();
 * });
 */
export function detectAnomaly<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}

/** Throws if `out` holds a non-finite value while every input was finite. */
export function checkAnomaly(op: Op<unknown>, inputs: readonly Tensor[], out: Tensor): void {
  const bad = firstNonFinite(out.storage);
  if (bad < 0 || inputs.some((t) => firstNonFinite(t.storage) >= 0)) return;
  const shapes = inputs.map((t) => fmt(t.shape)).join(', ');
  throw new AnomalyError(
    `${op.name}: produced ${out.storage[bad]} at flat index ${bad} of its ${fmt(out.shape)} result ` +
      `from finite inputs ${shapes}`,
  );
}

function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}
