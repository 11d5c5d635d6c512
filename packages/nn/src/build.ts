import { Rng } from '@neurite/tensor';
import { activationLayer } from './layers/activations.js';
import { Dropout } from './layers/dropout.js';
import { Flatten } from './layers/flatten.js';
import { Dense } from './layers/linear.js';
import { Sequential } from './layers/sequential.js';
import type { Module } from './module.js';
import { parseSpec } from './spec.js';

/** Options of `buildModel`. */
export interface BuildOptions {
  /** Seed of the weights (and dropout masks): the same seed gives bit-identical weights. Default 0. */
  seed?: number;
  /** Parameter dtype. Default `float32`. */
  dtype?: 'float32' | 'float64';
}

/**
 * Builds the network a spec describes, after validating it (a bad spec
 * throws a `SpecError` naming each field). The result is a `Sequential`
 * with one entry per spec layer, so `spec.layers[i]` owns the parameters
 * `layers.i.weight` and `layers.i.bias`; its `spec` property keeps the
 * validated spec.
 *
 * @example
 * const model = buildModel(
 *   { input: [784], layers: [
 *     { type: 'dense', units: 16, activation: 'sigmoid' },
 *     { type: 'dense', units: 16, activation: 'sigmoid' },
 *     { type: 'dense', units: 10, activation: 'sigmoid' },
 *   ] },
 *   { seed: 42 },
 * );
 * model.parameterCount(); // 13002
 */
export function buildModel(
  spec: unknown,
  { seed = 0, dtype = 'float32' }: BuildOptions = {},
): Sequential {
  const parsed = parseSpec(spec);
  const rng = new Rng(seed);
  let shape = parsed.input.slice();
  const layers: Module[] = [];
  for (const layer of parsed.layers) {
    switch (layer.type) {
      case 'dense':
        layers.push(
          new Dense(shape[shape.length - 1]!, layer.units, {
            activation: layer.activation ?? 'linear',
            bias: layer.bias ?? true,
            init: layer.init ?? 'default',
            rng,
            dtype,
          }),
        );
        shape = [...shape.slice(0, -1), layer.units];
        break;
      case 'dropout':
        layers.push(new Dropout(layer.rate, { rng: new Rng(rng.uint32()) }));
        break;
      case 'flatten':
        layers.push(new Flatten());
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case 'activation':
        layers.push(activationLayer(layer.activation));
        break;
    }
  }
  const model = new Sequential(...layers);
  model.spec = parsed;
  return model;
}
