import { valueAndGrad } from './autograd.js';
import { isFloat } from './dtype.js';
import { noGrad } from './grad-mode.js';
import { Tensor } from './tensor.js';

/** The outcome of a gradient check: the worst disagreement and where it was. */
export interface GradcheckResult {
  /** Largest |analytic − numeric| / max(1, |analytic|, |numeric|) over every input element. */
  maxRelError: number;
  /** Argument index and flat element index of the worst element. */
  where: { input: number; index: number };
  analytic: number;
  numeric: number;
  ok: boolean;
}

/**
 * Compares the analytic gradient of scalar `f` with central differences,
 * element by element, in float64 (float inputs are converted; int32
 * inputs such as labels or indices are passed through and not checked).
 *
 * @example
 * const r = gradcheck((x) => x.sigmoid().sum(), [randn([3, 4], { rng: 1 })]);
 * r.maxRelError < 1e-6; // true
 */
export function gradcheck(
  f: (...args: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  { eps = 1e-6, tolerance = 1e-6 } = {},
): GradcheckResult {
  // Integer inputs (labels, indices) are passed through as they are: they cannot be perturbed.
  const xs = inputs.map((x) =>
    isFloat(x.dtype) ? new Tensor(Float64Array.from(x.data), x.shape, 'float64') : x,
  );
  const scalar = (...args: Tensor[]) => {
    const y = f(...args);
    return y.size === 1 ? y.reshape([]) : y.sum();
  };
  const [, analytic] = valueAndGrad(scalar)(...xs);
  const result: GradcheckResult = {
    maxRelError: 0,
    where: { input: -1, index: -1 },
    analytic: 0,
    numeric: 0,
    ok: true,
  };
  noGrad(() => {
    xs.forEach((x, k) => {
      if (!isFloat(x.dtype)) return;
      const data = x.data as Float64Array;
      for (let i = 0; i < data.length; i++) {
        const saved = data[i]!;
        data[i] = saved + eps;
        const up = scalar(...xs).item();
        data[i] = saved - eps;
        const down = scalar(...xs).item();
        data[i] = saved;
        const numeric = (up - down) / (2 * eps);
        const exact = analytic[k]!.data[i]!;
        const err = Math.abs(exact - numeric) / Math.max(1, Math.abs(exact), Math.abs(numeric));
        if (err > result.maxRelError || Number.isNaN(err)) {
          Object.assign(result, {
            maxRelError: err,
            where: { input: k, index: i },
            analytic: exact,
            numeric,
          });
        }
      }
    });
  });
  result.ok = result.maxRelError < tolerance;
  return result;
}
