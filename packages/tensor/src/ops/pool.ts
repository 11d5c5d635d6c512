import { isFloat } from '../dtype.js';
import { apply } from '../engine.js';
import { DTypeError, fmt, OptionError, ShapeError } from '../errors.js';
import {
  avgPool,
  avgPoolAdjoint,
  gatherLast,
  gatherLastRows,
  maxPoolArgmax,
  maxPoolRows,
  type PoolGeometry,
  scatterAddLast,
  type Windows,
} from '../kernels/pool.js';
import { defineOp, type Op, type Spec } from '../op.js';
import { sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { batchAll, linear, noTangent } from '../transforms/rules.js';
import { type Pair2, perAxis } from './conv.js';

/**
 * Pooling. Max pooling is a gather at int32 arg-max indices that its forward
 * computes; the gather's VJP is a scatter-add at the same indices and the
 * scatter-add's VJP the gather, so the gradient goes to the arg-max and every
 * order of derivative stays in tensor ops. Average pooling (fixed windows or
 * PyTorch's adaptive bins) is one linear primitive whose adjoint is its VJP,
 * and the other way round.
 */

type Pair = readonly [number, number];

/** Max pooling's window: all resolved, plus the output's spatial size. */
export interface MaxPoolAttrs {
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly size: Pair;
}

/** The kernels' view of max pooling over `x` [..., H, W]: every leading axis a plane. */
function geometry(x: Spec, a: MaxPoolAttrs): PoolGeometry {
  return {
    planes: sizeOf(x.shape.slice(0, -2)),
    h: x.shape.at(-2)!,
    w: x.shape.at(-1)!,
    oh: a.size[0],
    ow: a.size[1],
    kh: a.kernel[0],
    kw: a.kernel[1],
    sh: a.stride[0],
    sw: a.stride[1],
    ph: a.padding[0],
    pw: a.padding[1],
    dh: a.dilation[0],
    dw: a.dilation[1],
  };
}

/** Int32 [..., OH, OW]: the flat index within its H×W plane of each window's maximum. */
export const maxPool2dArgmaxOp: Op<MaxPoolAttrs> = defineOp<MaxPoolAttrs>({
  name: 'maxPool2dArgmax',
  infer: ([x], { size }) => ({ shape: [...x!.shape.slice(0, -2), ...size], dtype: 'int32' }),
  kernel: ([x], _out, a) => {
    const g = geometry(x!, a);
    return (o, [x]) => maxPoolArgmax(g, x!, o);
  },
  // Over a batch, each example's planes are its own: a compiled plan may run
  // this in blocks of examples with the steps around it.
  rowSplit: ([x], _out, a) =>
    x!.shape.length > 2 ? maxPoolRows(geometry(x!, a), x!.shape[0]!) : null,
  jvp: noTangent,
  // Every leading axis is a plane: the batch is one more.
  batch: ([x], _b, attrs) => apply(maxPool2dArgmaxOp, [x!], attrs),
  describe: ({ kernel, stride, padding, dilation }) =>
    `kernel=[${kernel}] stride=[${stride}] padding=[${padding}] dilation=[${dilation}]`,
});

/** out[..., q] = x[..., idx[..., q]]: along the last axis, at int32 indices of the same leading shape. */
export const gatherLastOp: Op = defineOp({
  name: 'gatherLast',
  infer: ([x, idx]) => ({ shape: idx!.shape, dtype: x!.dtype }),
  kernel: ([x, idx]) => {
    const s = x!.shape.at(-1)!;
    const q = idx!.shape.at(-1)!;
    const rows = sizeOf(idx!.shape.slice(0, -1));
    return (o, [a, ix]) => gatherLast(a!, s, ix!, q, rows, o);
  },
  rowSplit: ([x, idx]) =>
    idx!.shape.length > 1
      ? gatherLastRows(
          false,
          x!.shape.at(-1)!,
          idx!.shape.at(-1)!,
          sizeOf(idx!.shape.slice(0, -1)),
          idx!.shape[0]!,
        )
      : null,
  vjp: (g, [x, idx]) => [() => apply(scatterAddLastOp, [g, idx!], x!.shape.at(-1)!), null],
  jvp: linear(() => gatherLastOp),
  batch: (inputs, batched, _a, size) =>
    apply(gatherLastOp, batchAll(inputs, batched, size), undefined),
});

/** gatherLast's adjoint: a zero tensor with last axis `size`, g added at the int32 indices. */
export const scatterAddLastOp: Op<number> = defineOp<number>({
  name: 'scatterAddLast',
  infer: ([g], size) => ({ shape: [...g!.shape.slice(0, -1), size], dtype: g!.dtype }),
  kernel: ([g], _out, size) => {
    const q = g!.shape.at(-1)!;
    const rows = sizeOf(g!.shape.slice(0, -1));
    return (o, [a, ix]) => scatterAddLast(a!, q, ix!, size, rows, o);
  },
  rowSplit: ([g], _out, size) =>
    g!.shape.length > 1
      ? gatherLastRows(true, size, g!.shape.at(-1)!, sizeOf(g!.shape.slice(0, -1)), g!.shape[0]!)
      : null,
  vjp: (g, [, idx]) => [() => apply(gatherLastOp, [g, idx!], undefined), null],
  jvp: linear(() => scatterAddLastOp),
  batch: (inputs, batched, n, size) => apply(scatterAddLastOp, batchAll(inputs, batched, size), n),
  describe: (size) => `size=${size}`,
});

/** One axis's averaging windows, as plain arrays (attributes are printable data). */
export interface AxisWindows {
  readonly start: readonly number[];
  readonly end: readonly number[];
  readonly divisor: readonly number[];
}

/** Average pooling's windows along H and W, and the unpooled spatial size. */
export interface AvgPoolAttrs {
  readonly rows: AxisWindows;
  readonly cols: AxisWindows;
  readonly size: Pair;
}

const typed = (w: AxisWindows): Windows => ({
  start: Int32Array.from(w.start),
  end: Int32Array.from(w.end),
  divisor: Float64Array.from(w.divisor),
});

/** [..., H, W] → [..., rows, cols]: each output the sum of its window over its divisor. */
export const avgPool2dOp: Op<AvgPoolAttrs> = defineOp<AvgPoolAttrs>({
  name: 'avgPool2d',
  infer: ([x], { rows, cols }) => ({
    shape: [...x!.shape.slice(0, -2), rows.start.length, cols.start.length],
    dtype: x!.dtype,
  }),
  kernel: ([x], _out, { rows, cols, size }) => {
    const r = typed(rows);
    const c = typed(cols);
    const planes = sizeOf(x!.shape.slice(0, -2));
    return (o, [a]) => avgPool(a!, planes, size[0], size[1], r, c, o);
  },
  vjp: (g, _x, _out, attrs) => [() => apply(avgPool2dGradOp, [g], attrs)],
  jvp: linear(() => avgPool2dOp),
  batch: ([x], _b, attrs) => apply(avgPool2dOp, [x!], attrs),
  describe: ({ rows, cols }) => `rows=${rows.start.length} cols=${cols.start.length}`,
});

/** avgPool2d's adjoint (its VJP): [..., rows, cols] → [..., H, W]. */
export const avgPool2dGradOp: Op<AvgPoolAttrs> = defineOp<AvgPoolAttrs>({
  name: 'avgPool2dGrad',
  infer: ([g], { size }) => ({ shape: [...g!.shape.slice(0, -2), ...size], dtype: g!.dtype }),
  kernel: ([g], _out, { rows, cols, size }) => {
    const r = typed(rows);
    const c = typed(cols);
    const planes = sizeOf(g!.shape.slice(0, -2));
    return (o, [a]) => avgPoolAdjoint(a!, planes, size[0], size[1], r, c, o);
  },
  vjp: (g, _x, _out, attrs) => [() => apply(avgPool2dOp, [g], attrs)],
  jvp: linear(() => avgPool2dGradOp),
  batch: ([x], _b, attrs) => apply(avgPool2dGradOp, [x!], attrs),
  describe: ({ size }) => `size=[${size}]`,
});

// ---- functions -------------------------------------------------------------------

/** Options of `maxPool2d`, as in PyTorch's `F.max_pool2d`. */
export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair2;
  padding?: Pair2;
  dilation?: Pair2;
  /**
   * Round the output size up, so a last, partial window covers the rest of
   * the input (default false). As in PyTorch, no window starts in the right padding.
   */
  ceilMode?: boolean;
}

/** Options of `avgPool2d`, as in PyTorch's `F.avg_pool2d`. */
export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair2;
  padding?: Pair2;
  /** Whether padded zeros count in the divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
  /** Round the output size up, as `maxPool2d`'s option (default false). */
  ceilMode?: boolean;
  /** Divide every window's sum by this instead of its size. */
  divisorOverride?: number;
}

function checkInput(op: string, x: Tensor): void {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw new ShapeError(
      `${op}: input ${fmt(x.shape)} must be 4-D [N, C, H, W] (or 3-D [C, H, W])`,
    );
  }
  if (!isFloat(x.dtype)) throw new DTypeError(`${op}: expected a float input, got ${x.dtype}`);
}

const pair = (v: number[]): Pair => [v[0]!, v[1]!];

/** Kernel, stride and padding checked as PyTorch does: padding at most half the kernel. */
function window(
  op: string,
  x: Tensor,
  kernelSize: Pair2,
  stride: Pair2 | undefined,
  padding: Pair2 | undefined,
  dilation: Pair2 | undefined,
  ceilMode: boolean,
) {
  checkInput(op, x);
  const k = perAxis(op, 'kernelSize', kernelSize, 2, 1, 1);
  const s = perAxis(op, 'stride', stride ?? k, 2, 1, 1);
  const p = perAxis(op, 'padding', padding, 2, 0, 0);
  const d = perAxis(op, 'dilation', dilation, 2, 1, 1);
  if (p.some((v, i) => 2 * v > k[i]!)) {
    throw new OptionError(
      `${op}: padding [${p.join(', ')}] must be at most half of kernelSize [${k.join(', ')}]`,
    );
  }
  const spatial = x.shape.slice(-2);
  const span = k.map((v, i) => d[i]! * (v - 1) + 1);
  const padded = spatial.map((n, i) => n + 2 * p[i]!);
  if (span.some((v, i) => v > padded[i]!)) {
    throw new ShapeError(
      `${op}: kernel [${k.join(', ')}]${d.some((v) => v !== 1) ? ` with dilation [${d.join(', ')}]` : ''} spans [${span.join(', ')}], larger than the padded input [${padded.join(', ')}] (input ${fmt(x.shape)}, padding [${p.join(', ')}])`,
    );
  }
  const size = padded.map((n, i) => {
    const out = Math.floor((n - span[i]! + (ceilMode ? s[i]! - 1 : 0)) / s[i]!) + 1;
    // PyTorch's rule: the last window starts inside the input or its left padding.
    return ceilMode && (out - 1) * s[i]! >= spatial[i]! + p[i]! ? out - 1 : out;
  });
  // With dilation a window can fall wholly in the padding: it has no maximum.
  spatial.forEach((n, i) => {
    for (let o = 0; o < size[i]!; o++) {
      const start = o * s[i]! - p[i]!;
      let hit = false;
      for (let t = 0; t < k[i]! && !hit; t++) hit = start + t * d[i]! >= 0 && start + t * d[i]! < n;
      if (!hit) {
        throw new ShapeError(
          `${op}: window ${o} along axis ${x.ndim - 2 + i} covers only padding (input ${fmt(x.shape)}, kernel [${k.join(', ')}], stride [${s.join(', ')}], padding [${p.join(', ')}], dilation [${d.join(', ')}])`,
        );
      }
    }
  });
  return { k, s, p, d, size };
}

/**
 * 2-D max pooling over [N, C, H, W]. The gradient goes to each window's
 * largest input (the first one, in row-major order, among ties); padding
 * counts as −∞.
 *
 * @example
 * maxPool2d(x, 2); // [N, C, H/2, W/2]
 * maxPool2d(x, 3, { stride: 2, padding: 1 });
 */
export function maxPool2d(x: Tensor, kernelSize: Pair2, options: MaxPool2dOptions = {}): Tensor {
  const { k, s, p, d, size } = window(
    'maxPool2d',
    x,
    kernelSize,
    options.stride,
    options.padding,
    options.dilation,
    options.ceilMode ?? false,
  );
  const attrs = {
    kernel: pair(k),
    stride: pair(s),
    padding: pair(p),
    dilation: pair(d),
    size: pair(size),
  };
  const idx = apply(maxPool2dArgmaxOp, [x], attrs);
  const lead = x.shape.slice(0, -2);
  const flat = x.reshape([...lead, sizeOf(x.shape.slice(-2))]);
  const picked = apply(
    gatherLastOp,
    [flat, idx.reshape([...lead, size[0]! * size[1]!])],
    undefined,
  );
  return picked.reshape([...lead, ...size]);
}

/** Windows of one axis of a fixed-window average pool, as PyTorch computes them. */
function fixedWindows(
  n: number,
  out: number,
  k: number,
  s: number,
  p: number,
  includePad: boolean,
): AxisWindows {
  const start: number[] = [];
  const end: number[] = [];
  const divisor: number[] = [];
  for (let i = 0; i < out; i++) {
    const lo = i * s - p;
    const hi = Math.min(lo + k, n + p);
    const a = Math.max(lo, 0);
    const b = Math.min(hi, n);
    start.push(a);
    end.push(b);
    divisor.push(includePad ? hi - lo : b - a);
  }
  return { start, end, divisor };
}

/**
 * 2-D average pooling over [N, C, H, W]. With `countIncludePad` (the
 * default, as in PyTorch) padded zeros count in each window's divisor; a
 * window that `ceilMode` lets past the padding counts only up to its edge.
 *
 * @example
 * avgPool2d(x, 2); // [N, C, H/2, W/2]
 * avgPool2d(x, 3, { stride: 1, padding: 1, countIncludePad: false });
 */
export function avgPool2d(x: Tensor, kernelSize: Pair2, options: AvgPool2dOptions = {}): Tensor {
  const { k, s, p, size } = window(
    'avgPool2d',
    x,
    kernelSize,
    options.stride,
    options.padding,
    1,
    options.ceilMode ?? false,
  );
  const include = options.countIncludePad ?? true;
  const override = options.divisorOverride;
  if (override !== undefined && !(Number.isFinite(override) && override !== 0)) {
    throw new OptionError(
      `avgPool2d: divisorOverride ${override} must be a finite non-zero number`,
    );
  }
  const [H, W] = [x.shape.at(-2)!, x.shape.at(-1)!];
  const rows = fixedWindows(H, size[0]!, k[0]!, s[0]!, p[0]!, include);
  const cols = fixedWindows(W, size[1]!, k[1]!, s[1]!, p[1]!, include);
  // A window's divisor is the product of its two axes' divisors.
  return apply(avgPool2dOp, [x], {
    rows: override === undefined ? rows : { ...rows, divisor: rows.divisor.map(() => override) },
    cols: override === undefined ? cols : { ...cols, divisor: cols.divisor.map(() => 1) },
    size: [H, W],
  });
}

/** PyTorch's adaptive bins: output i averages [⌊i·n/out⌋, ⌈(i+1)·n/out⌉). */
function adaptiveWindows(n: number, out: number): AxisWindows {
  const start: number[] = [];
  const end: number[] = [];
  const divisor: number[] = [];
  for (let i = 0; i < out; i++) {
    const a = Math.floor((i * n) / out);
    const b = Math.ceil(((i + 1) * n) / out);
    start.push(a);
    end.push(b);
    divisor.push(b - a);
  }
  return { start, end, divisor };
}

/**
 * Average pooling to a fixed output size with PyTorch's bins, whatever the
 * input size; `outputSize` 1 is global average pooling.
 *
 * @example
 * adaptiveAvgPool2d(x, 1); // [N, C, 1, 1]
 * adaptiveAvgPool2d(x, [7, 7]);
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair2): Tensor {
  checkInput('adaptiveAvgPool2d', x);
  const size = perAxis('adaptiveAvgPool2d', 'outputSize', outputSize, 2, 1, 1);
  const [H, W] = [x.shape.at(-2)!, x.shape.at(-1)!];
  if (H === 0 || W === 0) {
    throw new ShapeError(`adaptiveAvgPool2d: input ${fmt(x.shape)} has an empty spatial axis`);
  }
  return apply(avgPool2dOp, [x], {
    rows: adaptiveWindows(H, size[0]!),
    cols: adaptiveWindows(W, size[1]!),
    size: [H, W],
  });
}
