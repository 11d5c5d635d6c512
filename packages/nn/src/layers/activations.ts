import type { Tensor } from '@neurite/tensor';
import { Module } from '../module.js';

/** The activations a spec can name; `linear` is none at all. */
export const activationNames = [
  'sigmoid',
  'relu',
  'tanh',
  'leakyRelu',
  'softmax',
  'linear',
] as const;
export type ActivationName = (typeof activationNames)[number];

/** Slope of `leakyRelu` for negative inputs when a spec names it. */
export const defaultLeakySlope = 0.01;

/**
 * Applies the named activation elementwise (softmax: along the last axis).
 *
 * @example
 * activate('sigmoid', z); // σ(z), the classic squashing function
 */
export function activate(name: ActivationName, x: Tensor): Tensor {
  switch (name) {
    case 'sigmoid':
      return x.sigmoid();
    case 'relu':
      return x.relu();
    case 'tanh':
      return x.tanh();
    case 'leakyRelu':
      return x.leakyRelu(defaultLeakySlope);
    case 'softmax':
      return x.softmax(-1);
    case 'linear':
      return x;
  }
}

/** σ(x) = 1 / (1 + e^−x). @example new Sigmoid().forward(z) */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
  override toString(): string {
    return 'Sigmoid';
  }
}

/** max(0, x). @example new ReLU().forward(z) */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
  override toString(): string {
    return 'ReLU';
  }
}

/** tanh(x). @example new Tanh().forward(z) */
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
  override toString(): string {
    return 'Tanh';
  }
}

/** max(x, αx), α = 0.01 unless given. @example new LeakyReLU(0.1).forward(z) */
export class LeakyReLU extends Module {
  constructor(readonly alpha = defaultLeakySlope) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.alpha);
  }
  override toString(): string {
    return `LeakyReLU(${this.alpha})`;
  }
}

/** exp(x) / Σ exp(x) along `axis` (the last by default). @example new Softmax().forward(logits) */
export class Softmax extends Module {
  constructor(readonly axis = -1) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.axis);
  }
  override toString(): string {
    return this.axis === -1 ? 'Softmax' : `Softmax(axis=${this.axis})`;
  }
}

/** Passes its input through unchanged. @example new Identity().forward(x) === x */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
  override toString(): string {
    return 'Identity';
  }
}

/**
 * The layer for a named activation.
 *
 * @example
 * activationLayer('relu'); // a ReLU
 */
export function activationLayer(name: ActivationName): Module {
  switch (name) {
    case 'sigmoid':
      return new Sigmoid();
    case 'relu':
      return new ReLU();
    case 'tanh':
      return new Tanh();
    case 'leakyRelu':
      return new LeakyReLU();
    case 'softmax':
      return new Softmax();
    case 'linear':
      return new Identity();
  }
}
