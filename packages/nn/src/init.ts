import { type Rng, type Shape, type Tensor, zeros } from '@neurite/tensor';
import { parameter } from './parameter.js';
import { toRng } from './random.js';

/**
 * Initialisers: each returns a fresh leaf tensor of `shape` drawn from a
 * seedable generator (an `Rng`, or a seed for a new one), so the same seed
 * always gives the same weights. Fans are computed as PyTorch does.
 */

/** Options every initialiser takes. */
export interface InitOptions {
  /** The generator to draw from, or a seed for a new one (random when absent). */
  rng?: Rng | number;
  /** `float32` (default) or `float64`. */
  dtype?: 'float32' | 'float64';
  /** Whether the new leaf collects gradients (a parameter). Default false. */
  requiresGrad?: boolean;
}

/** Options of the He/Kaiming initialisers. */
export interface HeOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (0 for ReLU). Default 0. */
  a?: number;
  /** Preserve the variance of activations (`fanIn`, default) or of gradients (`fanOut`). */
  mode?: 'fanIn' | 'fanOut';
}

/**
 * Fan-in and fan-out of a weight of `shape`, as PyTorch computes them:
 * `[out, in, ...kernel]` has fanIn = in·∏kernel and fanOut = out·∏kernel.
 *
 * @example
 * fans([16, 784]); // { fanIn: 784, fanOut: 16 }
 */
export function fans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new RangeError(
      `fans: a weight needs at least 2 dimensions to have a fan-in and fan-out, got shape [${shape.join(', ')}]`,
    );
  }
  let receptive = 1;
  for (const d of shape.slice(2)) receptive *= d;
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

function draw(shape: Shape, options: InitOptions, sample: (rng: Rng) => number): Tensor {
  const rng = toRng(options.rng);
  const t = zeros(shape, { dtype: options.dtype ?? 'float32' });
  for (let i = 0; i < t.data.length; i++) t.data[i] = sample(rng);
  return options.requiresGrad ? parameter(t) : t;
}

/**
 * Values uniform in [low, high).
 *
 * @example
 * uniform([10], { low: -0.5, high: 0.5, rng: 42 });
 */
export function uniform(
  shape: Shape,
  { low = 0, high = 1, ...options }: InitOptions & { low?: number; high?: number } = {},
): Tensor {
  if (!(high >= low)) throw new RangeError(`uniform: high (${high}) is below low (${low})`);
  return draw(shape, options, (rng) => low + (high - low) * rng.float());
}

/**
 * Values from N(mean, std²).
 *
 * @example
 * normal([16, 784], { std: 0.01, rng: 42 });
 */
export function normal(
  shape: Shape,
  { mean = 0, std = 1, ...options }: InitOptions & { mean?: number; std?: number } = {},
): Tensor {
  if (!(std >= 0)) throw new RangeError(`normal: std must be non-negative, got ${std}`);
  return draw(shape, options, (rng) => mean + std * rng.normal());
}

/**
 * Glorot/Xavier uniform: U(−b, b) with b = gain·√(6 / (fanIn + fanOut)),
 * keeping the variance of activations and gradients alike across layers.
 *
 * @example
 * glorotUniform([16, 784], { rng: 42 });
 */
export function glorotUniform(
  shape: Shape,
  { gain = 1, ...options }: InitOptions & { gain?: number } = {},
): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, { ...options, low: -bound, high: bound });
}

/**
 * Glorot/Xavier normal: N(0, σ²) with σ = gain·√(2 / (fanIn + fanOut)).
 *
 * @example
 * glorotNormal([16, 784], { rng: 42 });
 */
export function glorotNormal(
  shape: Shape,
  { gain = 1, ...options }: InitOptions & { gain?: number } = {},
): Tensor {
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, { ...options, std: gain * Math.sqrt(2 / (fanIn + fanOut)) });
}

function heStd(shape: Shape, a: number, mode: 'fanIn' | 'fanOut'): number {
  const { fanIn, fanOut } = fans(shape);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  // The gain of a leaky ReLU with negative slope a; a = 0 is ReLU's √2.
  return Math.sqrt(2 / (1 + a * a)) / Math.sqrt(fan);
}

/**
 * He/Kaiming uniform: U(−b, b) with b = √3·gain/√fan, gain = √(2 / (1 + a²)).
 * With `a = √5` this is the default of PyTorch's `Linear`: b = 1/√fanIn.
 *
 * @example
 * heUniform([16, 784], { rng: 42 });
 */
export function heUniform(
  shape: Shape,
  { a = 0, mode = 'fanIn', ...options }: HeOptions = {},
): Tensor {
  const bound = Math.sqrt(3) * heStd(shape, a, mode);
  return uniform(shape, { ...options, low: -bound, high: bound });
}

/**
 * He/Kaiming normal: N(0, σ²) with σ = gain/√fan, gain = √(2 / (1 + a²)).
 *
 * @example
 * heNormal([128, 784], { rng: 42 }); // for a ReLU layer
 */
export function heNormal(
  shape: Shape,
  { a = 0, mode = 'fanIn', ...options }: HeOptions = {},
): Tensor {
  return normal(shape, { ...options, std: heStd(shape, a, mode) });
}
