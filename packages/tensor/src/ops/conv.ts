import { allocate, isFloat, promote } from '../dtype.js';
import { apply } from '../engine.js';
import { DTypeError, fmt, OptionError, ShapeError } from '../errors.js';
import { type ConvGeometry, convForward, convTranspose, convWeight } from '../kernels/conv.js';
import { defineOp, type Op, type Spec } from '../op.js';
import type { Tensor } from '../tensor.js';
import { linear } from '../transforms/rules.js';

/**
 * Convolutions. Three primitives share one set of attributes, that of a
 * convolution y = conv(x, w), and are each other's gradients:
 * - `conv2d`: y from x and w;
 * - `convTranspose2d`: the adjoint of conv2d in x (x-shaped from y-shaped),
 *   which is conv2d's input gradient and a public op;
 * - `conv2dWeightGrad`: conv2d's gradient in w, from x and a y-shaped tensor.
 *
 * The weight gradient is a primitive of its own rather than conv2d over
 * permuted tensors with stride and dilation swapped: that rewrite needs two
 * materialised permutes per step, a crop when the stride does not divide the
 * input, and does not carry groups; as a primitive it is one product per
 * image (kernels/conv.ts), and its own VJP is again conv2d and
 * convTranspose2d, so every order of derivative stays in this table.
 *
 * The 1-D convolutions are these over a unit height.
 */

type Pair = readonly [number, number];

/** Attributes of a conv2d-family primitive, all resolved to numbers. */
export interface ConvAttrs {
  readonly stride: Pair;
  /** Zero rows/columns before x (the far side follows from the sizes). */
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly groups: number;
  /** Spatial size of the op's result. */
  readonly size: Pair;
}

const describe = ({ stride, padding, dilation, groups, size }: ConvAttrs) =>
  `stride=[${stride}] padding=[${padding}] dilation=[${dilation}] groups=${groups} size=[${size}]`;

function floatOut(name: string, a: Spec, b: Spec): Spec['dtype'] {
  if (!isFloat(a.dtype) || !isFloat(b.dtype)) {
    throw new DTypeError(
      `${name}: expected float tensors, got ${a.dtype} ${fmt(a.shape)} and ${b.dtype} ${fmt(b.shape)}`,
    );
  }
  return promote(a.dtype, b.dtype);
}

function geometry(x: Spec, y: Spec, k: Pair, a: ConvAttrs): ConvGeometry {
  return {
    n: x.shape[0]!,
    c: x.shape[1]!,
    h: x.shape[2]!,
    w: x.shape[3]!,
    o: y.shape[1]!,
    oh: y.shape[2]!,
    ow: y.shape[3]!,
    kh: k[0],
    kw: k[1],
    sh: a.stride[0],
    sw: a.stride[1],
    ph: a.padding[0],
    pw: a.padding[1],
    dh: a.dilation[0],
    dw: a.dilation[1],
    groups: a.groups,
  };
}

const kernelOf = (w: Spec): Pair => [w.shape[2]!, w.shape[3]!];

/** y[N, O, size] = conv(x[N, C, H, W], w[O, C/groups, kH, kW]). */
export const conv2dOp: Op<ConvAttrs> = defineOp<ConvAttrs>({
  name: 'conv2d',
  infer: ([x, w], { size }) => ({
    shape: [x!.shape[0]!, w!.shape[0]!, ...size],
    dtype: floatOut('conv2d', x!, w!),
  }),
  kernel: ([x, w], out, attrs) => {
    const k = convForward(geometry(x!, out, kernelOf(w!), attrs), (n) => allocate(out.dtype, n));
    return (o, [a, b]) => k(o, a!, b!);
  },
  vjp: (g, [x, w], _out, attrs) => [
    () => apply(convTranspose2dOp, [g, w!], { ...attrs, size: [x!.shape[2]!, x!.shape[3]!] }),
    () => apply(conv2dWeightGradOp, [x!, g], { ...attrs, size: kernelOf(w!) }),
  ],
  jvp: linear(() => conv2dOp),
  batch: (inputs, batched, attrs, size) => batchConv(conv2dOp, inputs, batched, attrs, size),
  describe,
});

/**
 * The adjoint of conv2d in its input: u[N, O, OH, OW] with w[O, C/groups, kH, kW]
 * gives x-shaped [N, C, size]. (So a transposed convolution's weight is
 * [in, out/groups, kH, kW], as in PyTorch.)
 */
export const convTranspose2dOp: Op<ConvAttrs> = defineOp<ConvAttrs>({
  name: 'convTranspose2d',
  infer: ([u, w], { size, groups }) => ({
    shape: [u!.shape[0]!, w!.shape[1]! * groups, ...size],
    dtype: floatOut('convTranspose2d', u!, w!),
  }),
  kernel: ([u, w], out, attrs) => {
    const k = convTranspose(geometry(out, u!, kernelOf(w!), attrs), (n) => allocate(out.dtype, n));
    return (o, [a, b]) => k(o, a!, b!);
  },
  vjp: (g, [u, w], _out, attrs) => [
    () => apply(conv2dOp, [g, w!], { ...attrs, size: [u!.shape[2]!, u!.shape[3]!] }),
    () => apply(conv2dWeightGradOp, [g, u!], { ...attrs, size: kernelOf(w!) }),
  ],
  jvp: linear(() => convTranspose2dOp),
  batch: (inputs, batched, attrs, size) =>
    batchConv(convTranspose2dOp, inputs, batched, attrs, size),
  describe,
});

/** conv2d's gradient in w: from x[N, C, H, W] and y-shaped u[N, O, OH, OW], w-shaped [O, C/groups, size]. */
export const conv2dWeightGradOp: Op<ConvAttrs> = defineOp<ConvAttrs>({
  name: 'conv2dWeightGrad',
  infer: ([x, u], { size, groups }) => ({
    shape: [u!.shape[1]!, x!.shape[1]! / groups, ...size],
    dtype: floatOut('conv2dWeightGrad', x!, u!),
  }),
  kernel: ([x, u], out, attrs) => {
    const k = convWeight(geometry(x!, u!, attrs.size, attrs), (n) => allocate(out.dtype, n));
    return (o, [a, b]) => k(o, a!, b!);
  },
  // <G, dW(x, u)> = <conv2d(x, G), u> = <x, convTranspose2d(u, G)>.
  vjp: (g, [x, u], _out, attrs) => [
    () => apply(convTranspose2dOp, [u!, g], { ...attrs, size: [x!.shape[2]!, x!.shape[3]!] }),
    () => apply(conv2dOp, [x!, g], { ...attrs, size: [u!.shape[2]!, u!.shape[3]!] }),
  ],
  jvp: linear(() => conv2dWeightGradOp),
  batch: (inputs, batched, attrs, size) =>
    batchConv(conv2dWeightGradOp, inputs, batched, attrs, size),
  describe,
});

/**
 * vmap of the convolutions. With one weight for the whole batch, the batch
 * folds into the images axis: one convolution. With a weight per example
 * (per-example gradients), it folds into the channels instead, each example
 * a group of its own: still one convolution, with `groups × batch` groups.
 */
function batchConv(
  op: Op<ConvAttrs>,
  [a, b]: readonly Tensor[],
  [ba, bb]: readonly boolean[],
  attrs: ConvAttrs,
  size: number,
): Tensor {
  const weightIsB = op !== conv2dWeightGradOp;
  if (weightIsB && !bb) {
    const x = a!.reshape([-1, ...a!.shape.slice(2)]);
    const y = apply(op, [x, b!], attrs);
    return y.reshape([size, a!.shape[1]!, ...y.shape.slice(1)]);
  }
  // [B, N, C, …] → [N, B·C, …]; an unbatched operand is broadcast to the batch first.
  const intoChannels = (t: Tensor, isBatched: boolean, n: number) => {
    const tb = isBatched ? t : t.expandDims(0).broadcastTo([size, ...t.shape]);
    return tb
      .permute([1, 0, 2, 3, 4])
      .reshape([n, size * tb.shape[2]!, tb.shape[3]!, tb.shape[4]!]);
  };
  const grouped = { ...attrs, groups: attrs.groups * size };
  if (weightIsB) {
    const n = a!.shape[ba ? 1 : 0]!;
    const w = b!.reshape([size * b!.shape[1]!, ...b!.shape.slice(2)]);
    const y = apply(op, [intoChannels(a!, ba!, n), w], grouped);
    return y
      .reshape([n, size, y.shape[1]! / size, y.shape[2]!, y.shape[3]!])
      .permute([1, 0, 2, 3, 4]);
  }
  const n = a!.shape[ba ? 1 : 0]!;
  const dw = apply(op, [intoChannels(a!, ba!, n), intoChannels(b!, bb!, n)], grouped);
  return dw.reshape([size, dw.shape[0]! / size, ...dw.shape.slice(1)]);
}

// ---- options -------------------------------------------------------------------

/** A number for every spatial axis, or one per axis. */
export type Pair2 = number | readonly [number, number];

/**
 * Options of `conv2d`, as in PyTorch's `F.conv2d`.
 *
 * `padding: 'same'` pads so the output has the input's size (stride 1 only;
 * an odd total puts the extra row/column after, as PyTorch does); `'valid'` is 0.
 */
export interface Conv2dOptions {
  stride?: Pair2;
  padding?: Pair2 | 'valid' | 'same';
  dilation?: Pair2;
  groups?: number;
}

/** Options of `conv1d`, as in PyTorch's `F.conv1d`. */
export interface Conv1dOptions {
  stride?: number;
  padding?: number | 'valid' | 'same';
  dilation?: number;
  groups?: number;
}

/** Options of `convTranspose2d`, as in PyTorch's `F.conv_transpose2d`. */
export interface ConvTranspose2dOptions {
  stride?: Pair2;
  padding?: Pair2;
  outputPadding?: Pair2;
  dilation?: Pair2;
  groups?: number;
}

/** Options of `convTranspose1d`, as in PyTorch's `F.conv_transpose1d`. */
export interface ConvTranspose1dOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
  dilation?: number;
  groups?: number;
}

type Option = number | readonly number[] | undefined;

/** One integer ≥ `min` per spatial axis, or an OptionError naming the op, the value and the rule. */
export function perAxis(
  op: string,
  name: string,
  value: Option,
  dims: number,
  fallback: number,
  min: number,
): number[] {
  const list = value === undefined ? new Array<number>(dims).fill(fallback) : value;
  const arr = typeof list === 'number' ? new Array<number>(dims).fill(list) : [...list];
  const shown = typeof value === 'number' ? `${value}` : `[${arr.join(', ')}]`;
  if (arr.length !== dims) {
    throw new OptionError(
      `${op}: ${name} ${shown} must be a number or ${dims} numbers, one per spatial axis`,
    );
  }
  if (!arr.every((v) => Number.isInteger(v) && v >= min)) {
    const kind = min === 0 ? 'non-negative' : 'positive';
    throw new OptionError(
      typeof value === 'number'
        ? `${op}: ${name} ${shown} must be a ${kind} integer`
        : `${op}: ${name} ${shown} must be ${kind} integers`,
    );
  }
  return arr;
}

function checkGroups(op: string, groups: number | undefined): number {
  const g = groups ?? 1;
  if (!Number.isInteger(g) || g < 1)
    throw new OptionError(`${op}: groups ${g} must be a positive integer`);
  return g;
}

const axesName = (dims: number) => (dims === 2 ? 'H, W' : 'L');
const list = (xs: readonly number[]) => `[${xs.join(', ')}]`;

function checkOperands(
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null | undefined,
  dims: number,
  transposed: boolean,
  groups: number,
): void {
  const rank = dims + 2;
  if (x.ndim !== rank) {
    throw new ShapeError(
      `${op}: input ${fmt(x.shape)} must be ${rank}-D [N, C, ${axesName(dims)}]`,
    );
  }
  if (w.ndim !== rank) {
    const layout = transposed ? 'in, out/groups' : 'out, in/groups';
    throw new ShapeError(
      `${op}: weight ${fmt(w.shape)} must be ${rank}-D [${layout}, ${dims === 2 ? 'kH, kW' : 'k'}]`,
    );
  }
  if (!isFloat(x.dtype) || !isFloat(w.dtype)) {
    throw new DTypeError(
      `${op}: expected float tensors, got input ${x.dtype} and weight ${w.dtype}`,
    );
  }
  const c = x.shape[1]!;
  if (transposed) {
    if (w.shape[0] !== c) {
      throw new ShapeError(
        `${op}: input ${fmt(x.shape)} has ${c} channels but weight ${fmt(w.shape)} expects ${w.shape[0]}`,
      );
    }
    if (c % groups !== 0) {
      throw new ShapeError(
        `${op}: input ${fmt(x.shape)} has ${c} channels, which groups ${groups} does not divide`,
      );
    }
  } else {
    if (w.shape[0]! % groups !== 0) {
      throw new ShapeError(
        `${op}: weight ${fmt(w.shape)} has ${w.shape[0]} output channels, which groups ${groups} does not divide`,
      );
    }
    if (w.shape[1]! * groups !== c) {
      throw new ShapeError(
        `${op}: input ${fmt(x.shape)} has ${c} channels but weight ${fmt(w.shape)} expects ${w.shape[1]! * groups} (groups ${groups})`,
      );
    }
  }
  if (w.shape.slice(2).some((k) => k === 0) || w.shape[0] === 0 || w.shape[1] === 0) {
    throw new ShapeError(`${op}: weight ${fmt(w.shape)} is empty`);
  }
  const out = transposed ? w.shape[1]! * groups : w.shape[0]!;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== out)) {
    throw new ShapeError(
      `${op}: bias ${fmt(bias.shape)} must be [${out}], one entry per output channel (weight ${fmt(w.shape)}, groups ${groups})`,
    );
  }
  if (bias && !isFloat(bias.dtype)) {
    throw new DTypeError(`${op}: expected a float bias, got ${bias.dtype}`);
  }
}

/**
 * A call's bias and options: `conv2d(x, w, { padding: 1 })` reads as
 * `conv2d(x, w, null, { padding: 1 })`, as callers write it without a bias.
 */
function biasAndOptions<O extends object>(
  op: string,
  x: Tensor,
  biasOrOptions: Tensor | null | undefined | O,
  options: O | undefined,
): [Tensor | null | undefined, O] {
  const isTensor = biasOrOptions instanceof (x.constructor as new () => Tensor);
  if (biasOrOptions == null || isTensor)
    return [biasOrOptions as Tensor | null | undefined, options ?? ({} as O)];
  const plain =
    typeof biasOrOptions === 'object' && Object.getPrototypeOf(biasOrOptions) === Object.prototype;
  if (!plain || options !== undefined) {
    const got = plain
      ? 'options in both the third and the fourth place'
      : `${(biasOrOptions as object).constructor?.name ?? typeof biasOrOptions}`;
    throw new OptionError(
      `${op}: the third argument is the bias (a Tensor or null) or the options, got ${got}`,
    );
  }
  return [null, biasOrOptions as O];
}

/** Resolved per-axis settings of a convolution over `dims` spatial axes. */
interface Resolved {
  stride: number[];
  before: number[];
  dilation: number[];
  size: number[];
  groups: number;
}

function resolveConv(
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null | undefined,
  dims: number,
  options: Conv2dOptions | Conv1dOptions,
): Resolved {
  const groups = checkGroups(op, options.groups);
  const stride = perAxis(op, 'stride', options.stride, dims, 1, 1);
  const dilation = perAxis(op, 'dilation', options.dilation, dims, 1, 1);
  const padding = options.padding ?? 0;
  checkOperands(op, x, w, bias, dims, false, groups);
  const kernel = w.shape.slice(2);
  const span = kernel.map((k, d) => dilation[d]! * (k - 1) + 1);
  let before: number[];
  let after: number[];
  if (padding === 'same') {
    if (stride.some((s) => s !== 1)) {
      throw new OptionError(
        `${op}: padding 'same' needs stride 1, got stride ${list(stride)} (as in PyTorch)`,
      );
    }
    // PyTorch puts the extra row/column of an odd total after.
    before = span.map((s) => Math.floor((s - 1) / 2));
    after = span.map((s, d) => s - 1 - before[d]!);
  } else if (padding === 'valid') {
    before = new Array<number>(dims).fill(0);
    after = before;
  } else if (typeof padding === 'string') {
    throw new OptionError(
      `${op}: padding '${padding}' must be a number, ${dims === 2 ? 'a pair, ' : ''}'valid' or 'same'`,
    );
  } else {
    before = perAxis(op, 'padding', padding, dims, 0, 0);
    after = before;
  }
  const spatial = x.shape.slice(2);
  const padded = spatial.map((n, d) => n + before[d]! + after[d]!);
  if (span.some((s, d) => s > padded[d]!)) {
    throw new ShapeError(
      `${op}: kernel ${list(kernel)} with dilation ${list(dilation)} spans ${list(span)}, larger than the padded input ${list(padded)} (input ${fmt(x.shape)}, weight ${fmt(w.shape)}, padding ${list(before)}${after === before ? '' : ` before, ${list(after)} after`})`,
    );
  }
  const size = padded.map((p, d) => Math.floor((p - span[d]!) / stride[d]!) + 1);
  return { stride, before, dilation, size, groups };
}

function resolveConvTranspose(
  op: string,
  x: Tensor,
  w: Tensor,
  bias: Tensor | null | undefined,
  dims: number,
  options: ConvTranspose2dOptions | ConvTranspose1dOptions,
): Resolved {
  const groups = checkGroups(op, options.groups);
  const stride = perAxis(op, 'stride', options.stride, dims, 1, 1);
  const dilation = perAxis(op, 'dilation', options.dilation, dims, 1, 1);
  const padding = perAxis(op, 'padding', options.padding, dims, 0, 0);
  const extra = perAxis(op, 'outputPadding', options.outputPadding, dims, 0, 0);
  extra.forEach((e, d) => {
    if (e >= Math.max(stride[d]!, dilation[d]!)) {
      throw new OptionError(
        `${op}: outputPadding ${list(extra)} must be smaller than stride ${list(stride)} or dilation ${list(dilation)} on each axis`,
      );
    }
  });
  checkOperands(op, x, w, bias, dims, true, groups);
  const kernel = w.shape.slice(2);
  const spatial = x.shape.slice(2);
  const size = spatial.map(
    (n, d) =>
      (n - 1) * stride[d]! - 2 * padding[d]! + dilation[d]! * (kernel[d]! - 1) + extra[d]! + 1,
  );
  if (size.some((s) => s <= 0) || spatial.some((n) => n === 0)) {
    throw new ShapeError(
      `${op}: the output would be empty (size ${list(size)}): input ${fmt(x.shape)}, weight ${fmt(w.shape)}, stride ${list(stride)}, padding ${list(padding)}, dilation ${list(dilation)}, outputPadding ${list(extra)}`,
    );
  }
  return { stride, before: padding, dilation, size, groups };
}

/** 2-D attributes from resolved settings over 1 or 2 spatial axes (1-D as a unit height). */
function attrsOf(r: Resolved): ConvAttrs {
  const two = (v: number[], unit: number): Pair =>
    v.length === 2 ? [v[0]!, v[1]!] : [unit, v[0]!];
  return {
    stride: two(r.stride, 1),
    padding: two(r.before, 0),
    dilation: two(r.dilation, 1),
    groups: r.groups,
    size: two(r.size, 1),
  };
}

const withBias = (y: Tensor, bias: Tensor | null | undefined, dims: number): Tensor =>
  bias ? y.add(bias.reshape([bias.shape[0]!, ...new Array<number>(dims).fill(1)])) : y;

const as2d = (t: Tensor): Tensor => t.reshape([t.shape[0]!, t.shape[1]!, 1, t.shape[2]!]);
const as1d = (t: Tensor): Tensor => t.reshape([t.shape[0]!, t.shape[1]!, t.shape[3]!]);

// ---- functions -------------------------------------------------------------------

/**
 * 2-D convolution (cross-correlation, as in every framework) of x[N, C, H, W]
 * with w[O, C/groups, kH, kW], plus an optional bias[O]: [N, O, OH, OW].
 * Without a bias, the options may come third: `conv2d(x, w, { stride: 2 })`.
 *
 * @example
 * const x = randn([64, 1, 28, 28]);
 * const w = randn([8, 1, 5, 5]);
 * conv2d(x, w, b, { padding: 'same' }); // [64, 8, 28, 28]
 */
export function conv2d(
  x: Tensor,
  w: Tensor,
  biasOrOptions?: Tensor | null | Conv2dOptions,
  options?: Conv2dOptions,
): Tensor {
  const [bias, o] = biasAndOptions('conv2d', x, biasOrOptions, options);
  const r = resolveConv('conv2d', x, w, bias, 2, o);
  return withBias(apply(conv2dOp, [x, w], attrsOf(r)), bias, 2);
}

/**
 * 1-D convolution of x[N, C, L] with w[O, C/groups, k], plus an optional
 * bias[O]: [N, O, OL]. Runs as conv2d over a unit height.
 *
 * @example
 * conv1d(randn([4, 2, 100]), randn([6, 2, 3]), { stride: 2 }); // [4, 6, 49]
 */
export function conv1d(
  x: Tensor,
  w: Tensor,
  biasOrOptions?: Tensor | null | Conv1dOptions,
  options?: Conv1dOptions,
): Tensor {
  const [bias, o] = biasAndOptions('conv1d', x, biasOrOptions, options);
  const r = resolveConv('conv1d', x, w, bias, 1, o);
  return withBias(as1d(apply(conv2dOp, [as2d(x), as2d(w)], attrsOf(r))), bias, 1);
}

/**
 * 2-D transposed convolution ("deconvolution"), the gradient of conv2d in its
 * input: x[N, C, H, W] with w[C, O/groups, kH, kW] gives [N, O, OH, OW] where
 * OH = (H − 1)·stride − 2·padding + dilation·(kH − 1) + outputPadding + 1.
 *
 * @example
 * convTranspose2d(randn([1, 16, 7, 7]), randn([16, 8, 4, 4]), null, { stride: 2, padding: 1 }); // [1, 8, 14, 14]
 */
export function convTranspose2d(
  x: Tensor,
  w: Tensor,
  biasOrOptions?: Tensor | null | ConvTranspose2dOptions,
  options?: ConvTranspose2dOptions,
): Tensor {
  const [bias, o] = biasAndOptions('convTranspose2d', x, biasOrOptions, options);
  const r = resolveConvTranspose('convTranspose2d', x, w, bias, 2, o);
  return withBias(apply(convTranspose2dOp, [x, w], attrsOf(r)), bias, 2);
}

/**
 * 1-D transposed convolution: x[N, C, L] with w[C, O/groups, k] gives [N, O, OL].
 *
 * @example
 * convTranspose1d(randn([2, 4, 10]), randn([4, 3, 3]), null, { stride: 2 }); // [2, 3, 21]
 */
export function convTranspose1d(
  x: Tensor,
  w: Tensor,
  biasOrOptions?: Tensor | null | ConvTranspose1dOptions,
  options?: ConvTranspose1dOptions,
): Tensor {
  const [bias, o] = biasAndOptions('convTranspose1d', x, biasOrOptions, options);
  const r = resolveConvTranspose('convTranspose1d', x, w, bias, 1, o);
  return withBias(as1d(apply(convTranspose2dOp, [as2d(x), as2d(w)], attrsOf(r))), bias, 1);
}
