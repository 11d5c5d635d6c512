import { div, noGrad, Tensor } from '@neurite/tensor';
import { OptimizerError } from '../errors.js';

function withGrads(name: string, params: Tensor | Iterable<Tensor>): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new OptimizerError(`${name}: parameter ${i} is not a Tensor`);
  });
  return list.filter((p) => p.grad !== null);
}

/**
 * Rescales the gradients of `params` so that their total norm (as if all
 * were one vector) is at most `maxNorm`, as PyTorch's `clip_grad_norm_`:
 * each gradient is multiplied by min(1, maxNorm / (norm + 1e-6)). Returns
 * the total norm before clipping, as a scalar tensor. Written in tensor
 * ops, so it runs inside a compiled step; call it between `backward()` and
 * `optimizer.step()`.
 *
 * `normType` is any p ≥ 1 or `Infinity` (the largest magnitude). With
 * `errorIfNonfinite`, a NaN or infinite norm throws instead (it reads the
 * norm's value, so not inside a compiled step).
 *
 * @example
 * loss.backward();
 * clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 */
export function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  {
    normType = 2,
    errorIfNonfinite = false,
  }: { normType?: number; errorIfNonfinite?: boolean } = {},
): Tensor {
  if (!(Number.isFinite(maxNorm) && maxNorm >= 0)) {
    throw new OptimizerError(
      `clipGradNorm: maxNorm must be a finite non-negative number, got ${maxNorm}`,
    );
  }
  if (!(normType >= 1)) {
    throw new OptimizerError(`clipGradNorm: normType must be ≥ 1 or Infinity, got ${normType}`);
  }
  const list = withGrads('clipGradNorm', params);
  if (list.length === 0) return Tensor.scalar(0);
  return noGrad(() => {
    const dtype = list[0]!.grad!.dtype;
    const norms = list.map((p) => {
      const g = p.grad!.abs();
      const n =
        normType === Number.POSITIVE_INFINITY
          ? g.max()
          : normType === 2
            ? g.mul(g).sum()
            : g.pow(normType).sum();
      return n.cast(dtype);
    });
    let total = norms[0]!;
    for (let i = 1; i < norms.length; i++) {
      total =
        normType === Number.POSITIVE_INFINITY ? total.maximum(norms[i]!) : total.add(norms[i]!);
    }
    if (normType === 2) total = total.sqrt();
    else if (normType !== Number.POSITIVE_INFINITY) total = total.pow(1 / normType);
    if (errorIfNonfinite && !Number.isFinite(total.item())) {
      throw new OptimizerError(
        `clipGradNorm: the total norm of order ${normType} of the gradients is ${total.item()}; pass errorIfNonfinite: false to clip anyway`,
      );
    }
    const coef = div(maxNorm, total.add(1e-6)).minimum(1);
    for (const p of list) p.grad = p.grad!.mul(coef.cast(p.grad!.dtype));
    return total;
  });
}

/**
 * Clamps every gradient entry of `params` to [−clipValue, clipValue], as
 * PyTorch's `clip_grad_value_`. Written in tensor ops, so it runs inside
 * a compiled step.
 *
 * @example
 * loss.backward();
 * clipGradValue(model.parameters(), 0.5);
 * opt.step();
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(Number.isFinite(clipValue) && clipValue >= 0)) {
    throw new OptimizerError(
      `clipGradValue: clipValue must be a finite non-negative number, got ${clipValue}`,
    );
  }
  const list = withGrads('clipGradValue', params);
  noGrad(() => {
    for (const p of list) p.grad = p.grad!.clip(-clipValue, clipValue);
  });
}
