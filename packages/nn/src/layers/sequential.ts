import type { Tensor } from '@neurite/tensor';
import { Module } from '../module.js';
import type { ModelSpec } from '../spec.js';

/**
 * Layers applied one after another. As in PyTorch's `nn.Sequential`, the
 * layers are named by their index, so parameters and buffers are
 * `0.weight`, `0.bias`, `1.running_mean`, … and a state dict maps one to
 * one. The first layer receives every input given to `forward`; each later
 * layer the output of the one before.
 *
 * @example
 * const net = new Sequential(new Linear(2, 4, { rng: 1 }), new Tanh(), new Linear(4, 1, { rng: 2 }));
 * net.forward(x);
 * Object.keys(net.stateDict()); // ['0.weight', '0.bias', '2.weight', '2.bias']
 */
export class Sequential extends Module {
  readonly layers: Module[];
  /** The spec this model was built from, when `buildModel` made it. */
  spec: ModelSpec | undefined;

  constructor(...layers: Module[]) {
    super();
    for (const [i, layer] of layers.entries()) {
      if (!(layer instanceof Module))
        throw new TypeError(`Sequential: layer ${i} is not a Module (got ${typeof layer})`);
    }
    this.layers = layers;
    this.spec = undefined;
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (const [i, layer] of this.layers.entries()) yield [String(i), layer];
  }

  forward(...inputs: Tensor[]): Tensor {
    if (this.layers.length === 0) {
      if (inputs.length !== 1)
        throw new RangeError(`an empty Sequential passes one input through, got ${inputs.length}`);
      return inputs[0]!;
    }
    let y = this.layers[0]!.forward(...inputs);
    for (let i = 1; i < this.layers.length; i++) y = this.layers[i]!.forward(y);
    return y;
  }

  override toString(): string {
    return `Sequential(\n${this.layers.map((l, i) => `  (${i}) ${l.toString().replace(/\n/g, '\n  ')}`).join('\n')}\n)`;
  }
}
