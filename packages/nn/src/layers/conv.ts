import { conv1d, conv2d, pad, type Rng, ShapeError, type Tensor } from '@neurite/tensor';
import { heUniform, uniform } from '../init.js';
import { Module } from '../module.js';
import { toRng } from '../random.js';

/** A size per spatial axis: one number for both, or [height, width]. */
export type Pair = number | readonly [number, number];

/** How a convolution pads its input: with zeros, or PyTorch's other `padding_mode`s. */
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';
const paddingModes: readonly PaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

/** Options of `Conv2d` (PyTorch's arguments). */
export interface Conv2dLayerOptions {
  /** Default 1. */
  stride?: Pair;
  /** Zeros added on each side; `'same'` keeps the size (stride 1 only), `'valid'` is 0. Default 0. */
  padding?: Pair | 'same' | 'valid';
  /** Default 1. */
  dilation?: Pair;
  /** Channel groups: each output channel sees inChannels/groups inputs. Default 1. */
  groups?: number;
  /** What the padding holds: zeros (default), or the input reflected, replicated or wrapped around. */
  paddingMode?: PaddingMode;
  /** Whether the layer adds a bias per output channel. Default true. */
  bias?: boolean;
  /** The generator of the initial weights, or a seed. */
  rng?: Rng | number;
  /** Parameter dtype. Default `float32`. */
  dtype?: 'float32' | 'float64';
}

/** Options of `Conv1d` (PyTorch's arguments). */
export interface Conv1dLayerOptions
  extends Omit<Conv2dLayerOptions, 'stride' | 'padding' | 'dilation'> {
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
}

const asPair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function checkMode(layer: string, mode: string): void {
  if (!paddingModes.includes(mode as PaddingMode))
    throw new RangeError(
      `${layer}: paddingMode must be one of ${paddingModes.join(', ')}, got '${mode}'`,
    );
}

/**
 * The [before, after] padding of each spatial axis, as PyTorch pads for a
 * `paddingMode` other than zeros: `'same'` puts the odd one after.
 */
function sides(
  padding: readonly number[] | 'same' | 'valid',
  kernel: readonly number[],
  dilation: readonly number[],
): [number, number][] {
  return kernel.map((k, i) => {
    if (padding === 'valid') return [0, 0];
    if (padding === 'same') {
      const total = dilation[i]! * (k - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    }
    return [padding[i]!, padding[i]!];
  });
}

function checkChannels(
  layer: string,
  inChannels: number,
  outChannels: number,
  groups: number,
): void {
  for (const [what, n] of [
    ['inChannels', inChannels],
    ['outChannels', outChannels],
    ['groups', groups],
  ] as const) {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`${layer}: ${what} must be a positive integer, got ${n}`);
  }
  if (inChannels % groups !== 0 || outChannels % groups !== 0)
    throw new RangeError(
      `${layer}: groups ${groups} must divide both inChannels ${inChannels} and outChannels ${outChannels}`,
    );
}

/**
 * PyTorch's default initialisation of a convolution: weight kaiming-uniform
 * with a = √5 (U(±1/√fanIn)), bias U(±1/√fanIn), fanIn = in/groups · ∏kernel.
 */
function initConv(
  shape: number[],
  bias: boolean,
  rng: Rng | number | undefined,
  dtype: 'float32' | 'float64',
): { weight: Tensor; bias: Tensor | null } {
  const gen = toRng(rng);
  const leaf = { rng: gen, dtype, requiresGrad: true };
  const weight = heUniform(shape, { ...leaf, a: Math.sqrt(5) });
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const bound = 1 / Math.sqrt(fanIn);
  return {
    weight,
    bias: bias ? uniform([shape[0]!], { ...leaf, low: -bound, high: bound }) : null,
  };
}

/**
 * A 2-D convolution over [N, C, H, W] images, as PyTorch's `nn.Conv2d`:
 * `weight` [out, in/groups, kH, kW], `bias` [out], the same arguments and
 * default initialisation, so a PyTorch state dict loads one to one.
 *
 * @example
 * const conv = new Conv2d(1, 8, 5, { padding: 'same', rng: 1 });
 * conv.forward(images).shape; // [N, 8, 28, 28]
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | 'same' | 'valid';
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** [outChannels, inChannels/groups, kH, kW]. */
  readonly weight: Tensor;
  /** [outChannels], or null without a bias. */
  readonly bias: Tensor | null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    {
      stride = 1,
      padding = 0,
      dilation = 1,
      groups = 1,
      paddingMode = 'zeros',
      bias = true,
      rng,
      dtype = 'float32',
    }: Conv2dLayerOptions = {},
  ) {
    super();
    checkChannels('Conv2d', inChannels, outChannels, groups);
    checkMode('Conv2d', paddingMode);
    this.paddingMode = paddingMode;
    const k = asPair(kernelSize);
    const s = asPair(stride);
    const d = asPair(dilation);
    const p = typeof padding === 'string' ? padding : asPair(padding);
    for (const [what, v, min] of [
      ['kernelSize', k, 1],
      ['stride', s, 1],
      ['dilation', d, 1],
      ['padding', typeof p === 'string' ? [0, 0] : p, 0],
    ] as const) {
      if (!v.every((x) => Number.isInteger(x) && x >= min))
        throw new RangeError(
          `Conv2d: ${what} must be ${min ? 'positive' : 'non-negative'} integers, got [${v.join(', ')}]`,
        );
    }
    if (p === 'same' && (s[0] !== 1 || s[1] !== 1))
      throw new RangeError(`Conv2d: padding 'same' needs stride 1, got [${s.join(', ')}]`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.stride = s;
    this.padding = p;
    this.dilation = d;
    this.groups = groups;
    const init = initConv([outChannels, inChannels / groups, ...k], bias, rng, dtype);
    this.weight = init.weight;
    this.bias = init.bias;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(
        `${this.toString()}: expected input [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`,
      );
    }
    if (this.paddingMode !== 'zeros') {
      const [[top, bottom], [left, right]] = sides(
        this.padding,
        this.kernelSize,
        this.dilation,
      ) as [[number, number], [number, number]];
      const padded = pad(x, [left, right, top, bottom], { mode: this.paddingMode });
      return conv2d(padded, this.weight, this.bias, {
        stride: this.stride,
        dilation: this.dilation,
        groups: this.groups,
      });
    }
    return conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override toString(): string {
    const extra = [
      this.stride.some((v) => v !== 1) ? `stride=${this.stride.join('×')}` : '',
      this.padding === 'same' || this.padding === 'valid'
        ? `padding=${this.padding}`
        : this.padding.some((v) => v !== 0)
          ? `padding=${this.padding.join('×')}`
          : '',
      this.dilation.some((v) => v !== 1) ? `dilation=${this.dilation.join('×')}` : '',
      this.groups !== 1 ? `groups=${this.groups}` : '',
      this.paddingMode !== 'zeros' ? `paddingMode=${this.paddingMode}` : '',
      this.bias ? '' : 'no bias',
    ].filter(Boolean);
    return `Conv2d(${this.inChannels} → ${this.outChannels}, ${this.kernelSize.join('×')}${extra.map((e) => `, ${e}`).join('')})`;
  }
}

/**
 * A 1-D convolution over [N, C, L] sequences, as PyTorch's `nn.Conv1d`:
 * `weight` [out, in/groups, k], `bias` [out], PyTorch's arguments and
 * default initialisation.
 *
 * @example
 * const conv = new Conv1d(4, 16, 3, { padding: 1, rng: 1 });
 * conv.forward(signals).shape; // [N, 16, L]
 */
export class Conv1d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number | 'same' | 'valid';
  readonly dilation: number;
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** [outChannels, inChannels/groups, kernelSize]. */
  readonly weight: Tensor;
  /** [outChannels], or null without a bias. */
  readonly bias: Tensor | null;

  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    {
      stride = 1,
      padding = 0,
      dilation = 1,
      groups = 1,
      paddingMode = 'zeros',
      bias = true,
      rng,
      dtype = 'float32',
    }: Conv1dLayerOptions = {},
  ) {
    super();
    checkChannels('Conv1d', inChannels, outChannels, groups);
    checkMode('Conv1d', paddingMode);
    this.paddingMode = paddingMode;
    for (const [what, v, min] of [
      ['kernelSize', kernelSize, 1],
      ['stride', stride, 1],
      ['dilation', dilation, 1],
      ['padding', typeof padding === 'string' ? 0 : padding, 0],
    ] as const) {
      if (!Number.isInteger(v) || v < min)
        throw new RangeError(
          `Conv1d: ${what} must be a ${min ? 'positive' : 'non-negative'} integer, got ${v}`,
        );
    }
    if (padding === 'same' && stride !== 1)
      throw new RangeError(`Conv1d: padding 'same' needs stride 1, got ${stride}`);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.groups = groups;
    const init = initConv([outChannels, inChannels / groups, kernelSize], bias, rng, dtype);
    this.weight = init.weight;
    this.bias = init.bias;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[1] !== this.inChannels) {
      throw new ShapeError(
        `${this.toString()}: expected input [N, ${this.inChannels}, L], got [${x.shape.join(', ')}]`,
      );
    }
    if (this.paddingMode !== 'zeros') {
      const p = typeof this.padding === 'number' ? [this.padding] : this.padding;
      const [[left, right]] = sides(p, [this.kernelSize], [this.dilation]) as [[number, number]];
      const padded = pad(x, [left, right], { mode: this.paddingMode });
      return conv1d(padded, this.weight, this.bias, {
        stride: this.stride,
        dilation: this.dilation,
        groups: this.groups,
      });
    }
    return conv1d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override toString(): string {
    const extra = [
      this.stride !== 1 ? `stride=${this.stride}` : '',
      this.padding !== 0 ? `padding=${this.padding}` : '',
      this.dilation !== 1 ? `dilation=${this.dilation}` : '',
      this.groups !== 1 ? `groups=${this.groups}` : '',
      this.paddingMode !== 'zeros' ? `paddingMode=${this.paddingMode}` : '',
      this.bias ? '' : 'no bias',
    ].filter(Boolean);
    return `Conv1d(${this.inChannels} → ${this.outChannels}, ${this.kernelSize}${extra.map((e) => `, ${e}`).join('')})`;
  }
}
