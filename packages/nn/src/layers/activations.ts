import { type Tensor, where } from '@neurite/tensor';
import { Module } from '../module.js';

/** The activations a spec can name; `linear` is none at all. */
export const activationNames = [
  'sigmoid',
  'relu',
  'tanh',
  'leakyRelu',
  'softmax',
  'gelu',
  'silu',
  'softplus',
  'elu',
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
    case 'gelu':
      return gelu(x);
    case 'silu':
      return silu(x);
    case 'softplus':
      return softplus(x);
    case 'elu':
      return elu(x);
    case 'linear':
      return x;
  }
}

/**
 * GELU: x·Φ(x) = ½x(1 + erf(x/√2)), exact as PyTorch's default; with
 * `approximate: 'tanh'`, ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
 *
 * @example
 * gelu(z); gelu(z, { approximate: 'tanh' });
 */
export function gelu(
  x: Tensor,
  { approximate = 'none' }: { approximate?: 'none' | 'tanh' } = {},
): Tensor {
  if (approximate === 'tanh') {
    const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(0.5).mul(inner.tanh().add(1));
  }
  if (approximate !== 'none')
    throw new RangeError(
      `gelu: approximate must be 'none' or 'tanh', got '${approximate as string}'`,
    );
  return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
}

/** SiLU (swish): x·σ(x). @example silu(z) */
export function silu(x: Tensor): Tensor {
  return x.mul(x.sigmoid());
}

/**
 * Softplus: log(1 + e^(βx))/β, and x itself where βx > threshold (as
 * PyTorch, for numerical stability). The exponent is capped at the
 * threshold inside, so the unused branch never overflows into a NaN gradient.
 *
 * @example
 * softplus(z); softplus(z, { beta: 2, threshold: 10 });
 */
export function softplus(
  x: Tensor,
  { beta = 1, threshold = 20 }: { beta?: number; threshold?: number } = {},
): Tensor {
  const bx = x.mul(beta);
  const soft = bx.minimum(threshold).exp().add(1).log().div(beta);
  return where(bx.gt(threshold), x, soft);
}

/**
 * ELU: x for x > 0, α(e^x − 1) otherwise. The exponential sees min(x, 0),
 * so large inputs do not overflow in the branch that is not taken.
 *
 * @example
 * elu(z); elu(z, { alpha: 0.5 });
 */
export function elu(x: Tensor, { alpha = 1 }: { alpha?: number } = {}): Tensor {
  return where(x.gt(0), x, x.minimum(0).exp().sub(1).mul(alpha));
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

/**
 * GELU, exact (erf-based, PyTorch's default) or with `approximate: 'tanh'`.
 *
 * @example
 * new GELU().forward(z); new GELU({ approximate: 'tanh' }).forward(z);
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor({ approximate = 'none' }: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    if (approximate !== 'none' && approximate !== 'tanh')
      throw new RangeError(
        `GELU: approximate must be 'none' or 'tanh', got '${approximate as string}'`,
      );
    this.approximate = approximate;
  }
  forward(x: Tensor): Tensor {
    return gelu(x, { approximate: this.approximate });
  }
  override toString(): string {
    return this.approximate === 'none' ? 'GELU' : `GELU(approximate='${this.approximate}')`;
  }
}

/** SiLU (swish): x·σ(x). @example new SiLU().forward(z) */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return silu(x);
  }
  override toString(): string {
    return 'SiLU';
  }
}

/**
 * Softplus: log(1 + e^(βx))/β, linear where βx > threshold (PyTorch's
 * `Softplus(beta=1, threshold=20)`).
 *
 * @example
 * new Softplus({ beta: 2 }).forward(z);
 */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor({ beta = 1, threshold = 20 }: { beta?: number; threshold?: number } = {}) {
    super();
    if (!(Number.isFinite(beta) && beta !== 0))
      throw new RangeError(`Softplus: beta must be a finite non-zero number, got ${beta}`);
    if (Number.isNaN(threshold))
      throw new RangeError('Softplus: threshold must be a number, got NaN');
    this.beta = beta;
    this.threshold = threshold;
  }
  forward(x: Tensor): Tensor {
    return softplus(x, { beta: this.beta, threshold: this.threshold });
  }
  override toString(): string {
    return this.beta === 1 && this.threshold === 20
      ? 'Softplus'
      : `Softplus(beta=${this.beta}, threshold=${this.threshold})`;
  }
}

/** ELU: x for x > 0, α(e^x − 1) otherwise (α = 1 unless given). @example new ELU(0.5).forward(z) */
export class ELU extends Module {
  constructor(readonly alpha = 1) {
    super();
    if (!Number.isFinite(alpha))
      throw new RangeError(`ELU: alpha must be a finite number, got ${alpha}`);
  }
  forward(x: Tensor): Tensor {
    return elu(x, { alpha: this.alpha });
  }
  override toString(): string {
    return this.alpha === 1 ? 'ELU' : `ELU(alpha=${this.alpha})`;
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
    case 'gelu':
      return new GELU();
    case 'silu':
      return new SiLU();
    case 'softplus':
      return new Softplus();
    case 'elu':
      return new ELU();
    case 'linear':
      return new Identity();
  }
}
