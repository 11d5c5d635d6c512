import type { ModelSpec } from '@neurite/nn';
import type { Recipe } from './recipes.js';

/**
 * The network of "But what is a neural network?", declared as data: 784
 * inputs (28×28 pixels), two hidden layers of 16 neurons, 10 outputs (one
 * per digit). The recipe picks the activations and initialisation. This is
 * the only place that knows the layer sizes: edit it (say 784-32-10) and
 * training, checkpoints, pictures and the web page follow.
 *
 * @example
 * buildModel(modelSpec(recipes.classic), { seed: 1 }).parameterCount(); // 13,002
 */
export function modelSpec({
  hidden,
  output,
  init,
}: Pick<Recipe, 'hidden' | 'output' | 'init'>): ModelSpec {
  return {
    name: 'mnist-mlp',
    input: [784],
    layers: [
      { type: 'dense', units: 16, activation: hidden, init },
      { type: 'dense', units: 16, activation: hidden, init },
      { type: 'dense', units: 10, activation: output, init },
    ],
  };
}
