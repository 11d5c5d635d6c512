import { arange, isTracing, softmaxCrossEntropy, type Tensor, where } from '@neurite/tensor';
import { LossError } from './errors.js';

/**
 * Loss functions composed from tensor ops, so each has a gradient (and a
 * gradient of its gradient) for free. `reduction` says how per-element or
 * per-sample losses become the result: their `mean` (default), `sum`, or
 * `none` (kept as a tensor).
 */

export type Reduction = 'mean' | 'sum' | 'none';

/** The `reduction` option every loss takes. */
export interface LossOptions {
  reduction?: Reduction;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function reduce(loss: Tensor, reduction: Reduction, name: string): Tensor {
  switch (reduction) {
    case 'mean':
      return loss.mean();
    case 'sum':
      return loss.sum();
    case 'none':
      return loss;
    default:
      throw new LossError(
        `${name}: unknown reduction '${reduction as string}': expected mean, sum or none`,
      );
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function expectFloat(name: string, what: string, t: Tensor): void {
  if (t.dtype === 'int32') {
    throw new LossError(
      `${name}: ${what} must be a float tensor, got int32 of shape ${fmt(t.shape)}`,
    );
  }
}

function expectUnitInterval(name: string, what: string, t: Tensor): void {
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new LossError(
        `${name}: ${what} must lie in [0, 1], got ${v} at index ${i} of ${fmt(t.shape)}` +
          (what === 'probabilities' ? ' (for logits, use binaryCrossEntropyWithLogits)' : ''),
      );
    }
  }
}

function expectSameShape(name: string, pred: Tensor, target: Tensor, what = 'prediction'): void {
  expectFloat(name, what, pred);
  expectFloat(name, 'target', target);
  if (!sameShape(pred.shape, target.shape)) {
    throw new LossError(
      `${name}: ${what} ${fmt(pred.shape)} and target ${fmt(target.shape)} differ in shape`,
    );
  }
}

/**
 * Mean (or summed) squared error over all elements: mean((pred − target)²).
 *
 * @example
 * mse(tensor([1, 2]), tensor([0, 0])); // (1 + 4) / 2 = 2.5
 */
export function mse(
  pred: Tensor,
  target: Tensor,
  { reduction = 'mean' }: LossOptions = {},
): Tensor {
  expectSameShape('mse', pred, target);
  const diff = pred.sub(target);
  return reduce(diff.mul(diff), reduction, 'mse');
}

/**
 * The quadratic cost of the classic network: ½‖y − a‖² per sample (summed
 * over all but the first axis), averaged over the batch by default. A 1-D
 * input is one sample.
 *
 * @example
 * quadraticCost(output, oneHot(labels, 10)); // C = 1/n Σₓ ½‖y(x) − a‖²
 */
export function quadraticCost(
  pred: Tensor,
  target: Tensor,
  { reduction = 'mean' }: LossOptions = {},
): Tensor {
  expectSameShape('quadraticCost', pred, target);
  const diff = pred.sub(target);
  const sq = diff.mul(diff);
  const axes = pred.ndim <= 1 ? undefined : Array.from({ length: pred.ndim - 1 }, (_, i) => i + 1);
  const perSample = sq.sum(axes).mul(0.5);
  return reduce(perSample, reduction, 'quadraticCost');
}

function checkLabels(name: string, labels: Tensor, scores: Tensor, what: string): number {
  if (scores.ndim < 1) {
    throw new LossError(`${name}: ${what} must have a class axis, got shape ${fmt(scores.shape)}`);
  }
  const classes = scores.shape[scores.ndim - 1]!;
  const expected = scores.shape.slice(0, -1);
  if (!sameShape(labels.shape, expected)) {
    throw new LossError(
      `${name}: labels ${fmt(labels.shape)} do not match ${what} ${fmt(scores.shape)} (expected labels of shape ${fmt(expected)})`,
    );
  }
  // A step being compiled may not read values (its plan would not repeat the
  // check); its labels are checked when the step runs eagerly. Under vmap the
  // labels stand for a batch whose storage holds every example's: all checked.
  if (isTracing()) return classes;
  const data = labels.storage;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < 0 || v >= classes) {
      throw new LossError(
        `${name}: label ${v} at index ${i} is outside the ${classes} classes [0, ${classes})`,
      );
    }
  }
  return classes;
}

/**
 * Negative log-likelihood of int32 class labels under log-probabilities
 * (classes on the last axis): −logProbs[i, labels[i]].
 *
 * @example
 * nll(logits.logSoftmax(), labels); // = crossEntropy(logits, labels)
 */
export function nll(
  logProbs: Tensor,
  labels: Tensor,
  { reduction = 'mean' }: LossOptions = {},
): Tensor {
  expectFloat('nll', 'logProbs', logProbs);
  if (labels.dtype !== 'int32') {
    throw new LossError(
      `nll: labels must be int32 class indices, got ${labels.dtype} of shape ${fmt(labels.shape)}`,
    );
  }
  const classes = checkLabels('nll', labels, logProbs, 'logProbs');
  // `where`, not a product with a one-hot mask: a −∞ log-probability of an
  // unpicked class must not turn into 0·(−∞) = NaN.
  const picked = where(labels.expandDims(-1).eq(arange(classes)), logProbs, 0).sum(-1);
  return reduce(picked.neg(), reduction, 'nll');
}

/**
 * Cross-entropy of logits (classes on the last axis) against int32 class
 * labels, or against a float tensor of one-hot or probability rows of the
 * logits' shape. Computed through logSoftmax, which subtracts each row's
 * maximum, so logits of ±1e4 give finite losses and gradients.
 *
 * @example
 * crossEntropy(logits, labels);               // labels: int32 [N]
 * crossEntropy(logits, oneHot(labels, 10));   // the same value
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  { reduction = 'mean' }: LossOptions = {},
): Tensor {
  expectFloat('crossEntropy', 'logits', logits);
  if (target.dtype === 'int32') {
    checkLabels('crossEntropy', target, logits, 'logits');
    // One fused op; nll(logits.logSoftmax(-1), target) is its oracle in the tests.
    return reduce(softmaxCrossEntropy(logits, target), reduction, 'crossEntropy');
  }
  if (!sameShape(logits.shape, target.shape)) {
    throw new LossError(
      `crossEntropy: probability targets ${fmt(target.shape)} differ in shape from logits ${fmt(logits.shape)} (int32 targets are class labels of shape ${fmt(logits.shape.slice(0, -1))})`,
    );
  }
  const perSample = target.mul(logits.logSoftmax(-1)).sum(-1).neg();
  return reduce(perSample, reduction, 'crossEntropy');
}

/**
 * Binary cross-entropy of probabilities against targets in [0, 1]:
 * −[t·log p + (1 − t)·log(1 − p)], with p clamped to [eps, 1 − eps] so that
 * a saturated prediction gives a large finite loss, not ∞ or NaN.
 *
 * @example
 * binaryCrossEntropy(model.forward(x).sigmoid(), y);
 */
export function binaryCrossEntropy(
  probs: Tensor,
  targets: Tensor,
  { reduction = 'mean', eps = 1e-7 }: LossOptions & { eps?: number } = {},
): Tensor {
  expectSameShape('binaryCrossEntropy', probs, targets, 'probabilities');
  // Values can only be read outside a trace; there a probability outside [0, 1]
  // (a missing sigmoid, usually) would give a negative or NaN loss.
  if (!isTracing()) {
    expectUnitInterval('binaryCrossEntropy', 'probabilities', probs);
    expectUnitInterval('binaryCrossEntropy', 'targets', targets);
  }
  const p = probs.clip(eps, 1 - eps);
  const loss = targets
    .mul(p.log())
    .add(targets.neg().add(1).mul(p.neg().add(1).log()))
    .neg();
  return reduce(loss, reduction, 'binaryCrossEntropy');
}

/**
 * Binary cross-entropy on logits, stable for any magnitude:
 * max(x, 0) − x·t + log(1 + e^−|x|).
 *
 * @example
 * binaryCrossEntropyWithLogits(model.forward(x), y);
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor,
  { reduction = 'mean' }: LossOptions = {},
): Tensor {
  expectSameShape('binaryCrossEntropyWithLogits', logits, targets, 'logits');
  // |x| and max(x, 0) take the same branch at x = 0, so the two kinks cancel
  // and the gradient there is the true σ(0) − t rather than a subgradient.
  // Written as x·(1 − t) for x ≥ 0 and −x·t below, with a zero factor giving 0
  // rather than 0·∞ = NaN, so a logit of ±∞ on the side its target agrees with
  // costs nothing (and the gradient of that term is 0, as it should be).
  const positive = logits.ge(0);
  const absolute = where(positive, logits, logits.neg());
  const factor = where(positive, targets.neg().add(1), targets.neg());
  const linear = where(factor.eq(0), 0, logits.mul(factor));
  const loss = linear.add(absolute.neg().exp().add(1).log());
  return reduce(loss, reduction, 'binaryCrossEntropyWithLogits');
}
