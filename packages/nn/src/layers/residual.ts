import { ShapeError, type Tensor } from '@neurite/tensor';
import { Module } from '../module.js';

/**
 * A residual block: output = x + layers(x), the layers applied in turn as
 * in `Sequential` and named by index (`0.weight` …). The block must keep
 * the shape of its input.
 *
 * @example
 * const block = new Residual(new Linear(16, 16, { rng: 1 }), new ReLU());
 * block.forward(h).shape; // h.shape
 */
export class Residual extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    for (const [i, layer] of layers.entries()) {
      if (!(layer instanceof Module))
        throw new TypeError(`Residual: layer ${i} is not a Module (got ${typeof layer})`);
    }
    this.layers = layers;
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (const [i, layer] of this.layers.entries()) yield [String(i), layer];
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.forward(y);
    if (y.ndim !== x.ndim || y.shape.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError(
        `Residual: the block maps [${x.shape.join(', ')}] to [${y.shape.join(', ')}]; it must keep the shape to be added to its input`,
      );
    }
    return x.add(y);
  }

  override toString(): string {
    return `Residual(\n${this.layers.map((l, i) => `  (${i}) ${l.toString().replace(/\n/g, '\n  ')}`).join('\n')}\n)`;
  }
}
