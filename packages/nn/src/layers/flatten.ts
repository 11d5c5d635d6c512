import type { Tensor } from '@neurite/tensor';
import { Module } from '../module.js';

/**
 * Collapses all axes from `startDim` on into one: [N, 28, 28] → [N, 784].
 *
 * @example
 * new Flatten().forward(images).shape; // [batch, 784]
 */
export class Flatten extends Module {
  constructor(readonly startDim = 1) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (x.ndim <= this.startDim) return x;
    const lead = x.shape.slice(0, this.startDim);
    let rest = 1;
    for (const d of x.shape.slice(this.startDim)) rest *= d;
    return x.reshape([...lead, rest]);
  }

  override toString(): string {
    return 'Flatten';
  }
}
