import type { Tensor } from '@neurite/tensor';
import { Module } from '../module.js';
import type { ModelSpec } from '../spec.js';

/**
 * Layers applied one after another; their parameters are named
 * `layers.0.weight`, `layers.0.bias`, `layers.1.weight`, …
 *
 * @example
 * const net = new Sequential(new Linear(2, 4, { rng: 1 }), new Tanh(), new Linear(4, 1, { rng: 2 }));
 * net.forward(x);
 */
export class Sequential extends Module {
  readonly layers: Module[];
  /** The spec this model was built from, when `buildModel` made it. */
  spec: ModelSpec | undefined;

  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    this.spec = undefined;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    return y;
  }

  override toString(): string {
    return `Sequential(\n${this.layers.map((l, i) => `  (${i}) ${l.toString()}`).join('\n')}\n)`;
  }
}
