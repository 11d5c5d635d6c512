import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import { binary, cast as castTo, unary, where } from './elementwise.js';
import type { Operand } from './operand.js';

/** Every op as a plain function, for those who prefer `add(a, b)` to `a.add(b)`. */

export const add = (a: Operand, b: Operand): Tensor => binary('add', a, b);
export const sub = (a: Operand, b: Operand): Tensor => binary('sub', a, b);
export const mul = (a: Operand, b: Operand): Tensor => binary('mul', a, b);
export const div = (a: Operand, b: Operand): Tensor => binary('div', a, b);
export const pow = (a: Operand, b: Operand): Tensor => binary('pow', a, b);
export const maximum = (a: Operand, b: Operand): Tensor => binary('maximum', a, b);
export const minimum = (a: Operand, b: Operand): Tensor => binary('minimum', a, b);
export const eq = (a: Operand, b: Operand): Tensor => binary('eq', a, b);
export const ne = (a: Operand, b: Operand): Tensor => binary('ne', a, b);
export const lt = (a: Operand, b: Operand): Tensor => binary('lt', a, b);
export const le = (a: Operand, b: Operand): Tensor => binary('le', a, b);
export const gt = (a: Operand, b: Operand): Tensor => binary('gt', a, b);
export const ge = (a: Operand, b: Operand): Tensor => binary('ge', a, b);
export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);
/** The error function, 2/√π ∫₀ˣ e^(−t²) dt (exact GELU is built on it). @example erf(tensor([0.5])) */
export const erf = (x: Tensor): Tensor => unary('erf', x);
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => x.leakyRelu(alpha);
export const clip = (x: Tensor, lo: number, hi: number): Tensor => x.clip(lo, hi);
export const cast = (x: Tensor, dtype: DType): Tensor => castTo(x, dtype);
export {
  type Conv1dOptions,
  type Conv2dOptions,
  type ConvTranspose1dOptions,
  type ConvTranspose2dOptions,
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  type Pair2,
} from './conv.js';
export { matmul } from './matmul.js';
export {
  broadcastTo,
  concat,
  expandDims,
  flip,
  indexSelect,
  narrow,
  type PadOptions,
  pad,
  permute,
  reshape,
  slice,
  squeeze,
  stack,
  transpose,
} from './movement.js';
export {
  type AvgPool2dOptions,
  adaptiveAvgPool2d,
  avgPool2d,
  type MaxPool2dOptions,
  maxPool2d,
} from './pool.js';
export {
  type BernoulliAttrs,
  bernoulli,
  bernoulliOp,
  categorical,
  type MultinomialAttrs,
  multinomial,
  multinomialOp,
} from './random.js';
export { argmax, argmin, logSumExp, max, mean, min, sum } from './reduce.js';
export { logSoftmax, softmax, softmaxCrossEntropy } from './softmax.js';
export { where };
