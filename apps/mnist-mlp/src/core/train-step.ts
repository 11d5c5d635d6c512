import { crossEntropy, type Module, type Optimizer, quadraticCost } from '@neurite/nn';
import { oneHot, type Tensor } from '@neurite/tensor';
import type { LossName } from '../recipes.js';

/** What one training step reports: the batch's mean loss and how many it classified right (before the update). */
// A type alias, not an interface: `compile` needs it to fit its index-signature `Traced`.
export type StepResult = {
  readonly loss: Tensor;
  readonly correct: Tensor;
};

/** One training step on a batch: forward, loss, backward, optimiser update. */
export type TrainStep = (images: Tensor, labels: Tensor) => StepResult;

/**
 * The whole per-batch step as one function of tensors, with no branch on
 * tensor values, so `compile` can trace it once and replay it.
 *
 * @example
 * const step = compile(makeTrainStep(model, 'crossEntropy', opt));
 * const { loss } = step(images, labels);
 */
export function makeTrainStep(model: Module, loss: LossName, optimiser: Optimizer): TrainStep {
  return (images, labels) => {
    optimiser.zeroGrad();
    const output = model.forward(images);
    const value =
      loss === 'quadratic'
        ? quadraticCost(output, oneHot(labels, output.shape[output.ndim - 1]!))
        : crossEntropy(output, labels);
    value.backward();
    optimiser.step();
    const correct = output.detach().argmax(-1).eq(labels).cast('float32').sum();
    return { loss: value.detach(), correct };
  };
}
