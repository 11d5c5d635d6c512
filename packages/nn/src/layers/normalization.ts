import { assignInPlace, noGrad, ones, ShapeError, type Tensor, zeros } from '@neurite/tensor';
import { Module } from '../module.js';
import { parameter } from '../parameter.js';

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function positiveInt(layer: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`${layer}: ${what} must be a positive integer, got ${n}`);
}

function positive(layer: string, what: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0))
    throw new RangeError(`${layer}: ${what} must be a positive number, got ${v}`);
}

/** Options of `BatchNorm1d` and `BatchNorm2d` (PyTorch's arguments). */
export interface BatchNormOptions {
  /** Added to the variance before its square root. Default 1e-5. */
  eps?: number;
  /**
   * Weight of the new batch in the running statistics: running = (1 − m)·running + m·batch.
   * `null` keeps a cumulative average instead (m = 1 / batches seen). Default 0.1.
   */
  momentum?: number | null;
  /** Whether the layer has a learnable scale `weight` (ones) and shift `bias` (zeros). Default true. */
  affine?: boolean;
  /**
   * Whether the layer keeps running statistics (buffers `running_mean`, `running_var`,
   * `num_batches_tracked`) and normalises with them in evaluation mode. Without them it always
   * normalises with the batch's own statistics. Default true.
   */
  trackRunningStats?: boolean;
  /** Dtype of the parameters and running statistics. Default `float32`. */
  dtype?: 'float32' | 'float64';
}

/**
 * Batch normalisation over the channel axis 1, shared by `BatchNorm1d` and
 * `BatchNorm2d`: in training mode each channel is normalised with the
 * batch's mean and biased variance over every other axis, and the running
 * mean and the *unbiased* running variance move towards them; in evaluation
 * mode the running statistics are used. The statistics are buffers, saved
 * and loaded with the parameters and never trained; they are updated in
 * place from tensor ops, so a compiled training step updates them too.
 *
 * @example
 * const bn: BatchNorm = new BatchNorm2d(8);
 * bn.forward(x);                    // training: batch statistics
 * bn.runningMean!.toArray();        // moved 10% of the way to the batch mean
 * bn.eval().forward(x);             // evaluation: the running statistics
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** [numFeatures] scale, or null without `affine`. */
  readonly weight: Tensor | null;
  /** [numFeatures] shift, or null without `affine`. */
  readonly bias: Tensor | null;
  /** The buffer `running_mean` [numFeatures] (zeros at first), or null without `trackRunningStats`. */
  readonly runningMean: Tensor | null;
  /** The buffer `running_var` [numFeatures] (ones at first), unbiased, or null without `trackRunningStats`. */
  readonly runningVar: Tensor | null;
  /** The buffer `num_batches_tracked`: an int32 scalar counting training batches, or null. */
  readonly numBatchesTracked: Tensor | null;

  protected constructor(
    protected readonly layerName: string,
    /** The input ranks this layer accepts. */
    private readonly ranks: readonly number[],
    numFeatures: number,
    {
      eps = 1e-5,
      momentum = 0.1,
      affine = true,
      trackRunningStats = true,
      dtype = 'float32',
    }: BatchNormOptions = {},
  ) {
    super();
    positiveInt(layerName, 'numFeatures', numFeatures);
    positive(layerName, 'eps', eps);
    if (momentum !== null && !(momentum >= 0 && momentum <= 1))
      throw new RangeError(`${layerName}: momentum must be in [0, 1] or null, got ${momentum}`);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine ? parameter(ones([numFeatures], { dtype })) : null;
    this.bias = affine ? parameter(zeros([numFeatures], { dtype })) : null;
    if (trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', zeros([numFeatures], { dtype }));
      this.runningVar = this.registerBuffer('running_var', ones([numFeatures], { dtype }));
      this.numBatchesTracked = this.registerBuffer(
        'num_batches_tracked',
        zeros([], { dtype: 'int32' }),
      );
    } else {
      this.runningMean = null;
      this.runningVar = null;
      this.numBatchesTracked = null;
    }
  }

  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.ndim) || x.shape[1] !== this.numFeatures) {
      throw new ShapeError(
        `${this.toString()}: expected input of rank ${this.ranks.join(' or ')} with ${this.numFeatures} channels on axis 1, got ${fmt(x.shape)}`,
      );
    }
    const axes = [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
    const perChannel = [1, this.numFeatures, ...Array<number>(x.ndim - 2).fill(1)];
    let y: Tensor;
    if (this.training || !this.trackRunningStats) {
      const count = x.size / this.numFeatures;
      if (this.training && count <= 1) {
        throw new ShapeError(
          `${this.toString()}: expected more than 1 value per channel when training, got input ${fmt(x.shape)}`,
        );
      }
      const mean = x.mean(axes, true);
      const centred = x.sub(mean);
      const variance = centred.square().mean(axes, true);
      y = centred.div(variance.add(this.eps).sqrt());
      if (this.training && this.trackRunningStats) this.track(mean, variance, count);
    } else {
      const mean = this.runningMean!.reshape(perChannel);
      const std = this.runningVar!.reshape(perChannel).add(this.eps).sqrt();
      y = x.sub(mean).div(std);
    }
    if (this.weight && this.bias) {
      y = y.mul(this.weight.reshape(perChannel)).add(this.bias.reshape(perChannel));
    }
    return y;
  }

  /** Moves the running statistics towards the batch's, in place (PyTorch's update). */
  private track(mean: Tensor, variance: Tensor, count: number): void {
    noGrad(() => {
      const batches = this.numBatchesTracked!;
      assignInPlace(batches, batches.add(1));
      const c = this.numFeatures;
      const rm = this.runningMean!;
      // Without a momentum, the cumulative average: the k-th batch weighs 1/k.
      const m: Tensor | number =
        this.momentum ?? ones([], { dtype: rm.dtype }).div(batches.cast(rm.dtype));
      const rv = this.runningVar!;
      const unbiased = variance.reshape([c]).mul(count / (count - 1));
      assignInPlace(rm, mix(rm, mean.reshape([c]).cast(rm.dtype), m));
      assignInPlace(rv, mix(rv, unbiased.cast(rv.dtype), m));
    });
  }

  override toString(): string {
    const extra = [
      this.eps !== 1e-5 ? `eps=${this.eps}` : '',
      this.momentum !== 0.1 ? `momentum=${this.momentum}` : '',
      this.affine ? '' : 'affine=false',
      this.trackRunningStats ? '' : 'trackRunningStats=false',
    ].filter(Boolean);
    return `${this.layerName}(${[this.numFeatures, ...extra].join(', ')})`;
  }
}

/** (1 − m)·running + m·batch, in PyTorch's order of operations: m·batch + (1 − m)·running. */
function mix(running: Tensor, batch: Tensor, m: Tensor | number): Tensor {
  if (typeof m === 'number') return batch.mul(m).add(running.mul(1 - m));
  return batch.mul(m).add(running.mul(m.neg().add(1)));
}

/**
 * Batch normalisation of [N, C] or [N, C, L] inputs over the batch (and
 * length) axes, per channel, as PyTorch's `BatchNorm1d`. Its state dict
 * holds `weight`, `bias`, `running_mean`, `running_var` and
 * `num_batches_tracked`, as PyTorch's does.
 *
 * @example
 * const bn = new BatchNorm1d(16);
 * bn.forward(hidden);        // training: batch statistics, running stats updated
 * bn.eval().forward(hidden); // evaluation: running statistics
 */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm1d', [2, 3], numFeatures, options);
  }
}

/**
 * Batch normalisation of [N, C, H, W] images per channel, as PyTorch's
 * `BatchNorm2d` (same arguments, buffers and state-dict names).
 *
 * @example
 * const bn = new BatchNorm2d(8);
 * bn.forward(conv.forward(images)).shape; // [N, 8, H, W]
 */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm2d', [4], numFeatures, options);
  }
}

/** Options of `LayerNorm` (PyTorch's arguments). */
export interface LayerNormOptions {
  /** Added to the variance before its square root. Default 1e-5. */
  eps?: number;
  /** Whether the layer has a learnable `weight` (ones) and `bias` (zeros) of `normalizedShape`. Default true. */
  elementwiseAffine?: boolean;
  /** Whether it has the `bias` (with `elementwiseAffine`). Default true. */
  bias?: boolean;
  /** Parameter dtype. Default `float32`. */
  dtype?: 'float32' | 'float64';
}

/**
 * Layer normalisation as PyTorch's `LayerNorm`: each sample is normalised
 * over its last `normalizedShape.length` axes with their mean and biased
 * variance, then scaled and shifted elementwise. The same in training and
 * evaluation; no running statistics.
 *
 * @example
 * const norm = new LayerNorm([64]);
 * norm.forward(tokens).shape; // [batch, seq, 64]
 */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  /** `normalizedShape` scale, or null without `elementwiseAffine`. */
  readonly weight: Tensor | null;
  /** `normalizedShape` shift, or null. */
  readonly bias: Tensor | null;

  constructor(
    normalizedShape: number | readonly number[],
    { eps = 1e-5, elementwiseAffine = true, bias = true, dtype = 'float32' }: LayerNormOptions = {},
  ) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0) throw new RangeError('LayerNorm: normalizedShape must not be empty');
    for (const d of shape) positiveInt('LayerNorm', 'every normalizedShape entry', d);
    positive('LayerNorm', 'eps', eps);
    this.normalizedShape = shape;
    this.eps = eps;
    this.weight = elementwiseAffine ? parameter(ones(shape, { dtype })) : null;
    this.bias = elementwiseAffine && bias ? parameter(zeros(shape, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new ShapeError(
        `${this.toString()}: input ${fmt(x.shape)} must end in ${fmt(this.normalizedShape)}`,
      );
    }
    const axes = Array.from({ length: k }, (_, i) => x.ndim - k + i);
    const centred = x.sub(x.mean(axes, true));
    let y = centred.div(centred.square().mean(axes, true).add(this.eps).sqrt());
    if (this.weight) y = y.mul(this.weight);
    if (this.bias) y = y.add(this.bias);
    return y;
  }

  override toString(): string {
    return `LayerNorm(${fmt(this.normalizedShape)}${this.eps !== 1e-5 ? `, eps=${this.eps}` : ''}${this.weight ? '' : ', elementwiseAffine=false'})`;
  }
}
