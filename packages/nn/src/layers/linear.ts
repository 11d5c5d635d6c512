import { type Rng, ShapeError, type Tensor, zeros } from '@neurite/tensor';
import { glorotUniform, heNormal, heUniform, normal, uniform } from '../init.js';
import { Module } from '../module.js';
import { parameter } from '../parameter.js';
import { toRng } from '../random.js';
import { type ActivationName, activate } from './activations.js';

/**
 * How a dense layer's weights start:
 * - `default`: PyTorch's `Linear` (kaiming-uniform with a = √5, so weight and
 *   bias are U(−1/√in, 1/√in));
 * - `glorot`: Glorot/Xavier uniform weights, zero bias (Keras' default);
 * - `he`: He/Kaiming normal weights for ReLU, zero bias;
 * - `normal`: weights and biases N(0, 1), as the classic network of the book
 *   behind the video starts.
 */
export type InitName = 'default' | 'glorot' | 'he' | 'normal';

/** Options of `Linear` and `Dense`. */
export interface LinearOptions {
  /** Whether the layer adds a bias vector. Default true. */
  bias?: boolean;
  /** The generator to draw the initial weights from, or a seed. */
  rng?: Rng | number;
  /** The initialisation scheme. Default `default` (PyTorch's). */
  init?: InitName;
  /** Parameter dtype. Default `float32`. */
  dtype?: 'float32' | 'float64';
}

/**
 * A fully connected layer: y = x Wᵀ + b. `weight` is [out, in] as the
 * video's W: row i holds the weights into neuron i. The product reads Wᵀ in
 * place; no transpose is ever materialised.
 *
 * @example
 * const layer = new Linear(784, 16, { rng: 42 });
 * layer.forward(images).shape; // [batch, 16]
 */
export class Linear extends Module {
  /** [outFeatures, inFeatures]: row i = the weights into neuron i. */
  readonly weight: Tensor;
  /** [outFeatures], or null without a bias. */
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(
    inFeatures: number,
    outFeatures: number,
    { bias = true, rng, init = 'default', dtype = 'float32' }: LinearOptions = {},
  ) {
    super();
    for (const [what, n] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(n) || n < 1)
        throw new RangeError(`Linear: ${what} must be a positive integer, got ${n}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const gen = toRng(rng);
    const shape = [outFeatures, inFeatures];
    const leaf = { rng: gen, dtype, requiresGrad: true };
    switch (init) {
      case 'default': {
        const bound = 1 / Math.sqrt(inFeatures);
        this.weight = heUniform(shape, { ...leaf, a: Math.sqrt(5) });
        this.bias = bias ? uniform([outFeatures], { ...leaf, low: -bound, high: bound }) : null;
        break;
      }
      case 'glorot':
        this.weight = glorotUniform(shape, leaf);
        this.bias = bias ? parameter(zeros([outFeatures], { dtype })) : null;
        break;
      case 'he':
        this.weight = heNormal(shape, leaf);
        this.bias = bias ? parameter(zeros([outFeatures], { dtype })) : null;
        break;
      case 'normal':
        this.weight = normal(shape, leaf);
        this.bias = bias ? normal([outFeatures], leaf) : null;
        break;
      default:
        throw new RangeError(
          `Linear: unknown init '${init as string}': expected default, glorot, he or normal`,
        );
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new ShapeError(
        `${this.toString()}: input of shape [${x.shape.join(', ')}] must end in ${this.inFeatures} features`,
      );
    }
    const y = x.matmul(this.weight, { transB: true });
    return this.bias ? y.add(this.bias) : y;
  }

  override toString(): string {
    return `Linear(${this.inFeatures} → ${this.outFeatures}${this.bias ? '' : ', no bias'})`;
  }
}

/**
 * A `Linear` layer followed by an activation: a' = act(a Wᵀ + b), a whole
 * layer of the video's neurons σ(w·a + b). Its parameters are named
 * `weight` and `bias` like Linear's.
 *
 * @example
 * const hidden = new Dense(784, 16, { activation: 'sigmoid', rng: 42 });
 */
export class Dense extends Linear {
  readonly activation: ActivationName;

  constructor(
    inFeatures: number,
    outFeatures: number,
    { activation = 'linear', ...options }: LinearOptions & { activation?: ActivationName } = {},
  ) {
    super(inFeatures, outFeatures, options);
    this.activation = activation;
  }

  override forward(x: Tensor): Tensor {
    return activate(this.activation, super.forward(x));
  }

  override toString(): string {
    const base = super.toString().replace(/^Linear/, 'Dense');
    return this.activation === 'linear' ? base : `${base.slice(0, -1)}, ${this.activation})`;
  }
}
