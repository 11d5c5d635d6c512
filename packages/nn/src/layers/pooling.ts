import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type Tensor } from '@neurite/tensor';
import { Module } from '../module.js';
import type { Pair } from './conv.js';

const show = (v: Pair) => (typeof v === 'number' ? `${v}` : v.join('×'));

/**
 * 2-D max pooling over [N, C, H, W], as PyTorch's `nn.MaxPool2d` (stride
 * defaults to the kernel size; padding counts as −∞). The gradient goes to
 * each window's largest input.
 *
 * @example
 * new MaxPool2d(2).forward(features).shape; // [N, C, H/2, W/2]
 */
export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; dilation?: Pair } = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }

  override toString(): string {
    const { stride, padding, dilation } = this.options;
    return `MaxPool2d(${show(this.kernelSize)}${stride !== undefined ? `, stride=${show(stride)}` : ''}${padding ? `, padding=${show(padding)}` : ''}${dilation ? `, dilation=${show(dilation)}` : ''})`;
  }
}

/**
 * 2-D average pooling over [N, C, H, W], as PyTorch's `nn.AvgPool2d`
 * (stride defaults to the kernel size; padded zeros count in the divisor
 * unless `countIncludePad` is false).
 *
 * @example
 * new AvgPool2d(2).forward(features).shape; // [N, C, H/2, W/2]
 */
export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: Pair,
    readonly options: { stride?: Pair; padding?: Pair; countIncludePad?: boolean } = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }

  override toString(): string {
    const { stride, padding } = this.options;
    return `AvgPool2d(${show(this.kernelSize)}${stride !== undefined ? `, stride=${show(stride)}` : ''}${padding ? `, padding=${show(padding)}` : ''})`;
  }
}

/**
 * Average pooling to a fixed output size whatever the input's, with
 * PyTorch's bins (`nn.AdaptiveAvgPool2d`); `outputSize` 1 is global average
 * pooling.
 *
 * @example
 * new AdaptiveAvgPool2d(1).forward(features).shape; // [N, C, 1, 1]
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }

  override toString(): string {
    return `AdaptiveAvgPool2d(${show(this.outputSize)})`;
  }
}
