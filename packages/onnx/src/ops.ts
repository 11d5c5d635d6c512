import { Tensor } from '@neurite/tensor';
import { type Attribute, type Element, elementType, type GraphBuilder } from './graph.js';

/**
 * The ONNX form of each neurite primitive, one entry per op name, as the
 * tensor package's op table has one definition per primitive. An op missing
 * here is refused by name; nothing is special-cased per layer.
 */

/** One recorded op of a trace. */
export interface Step {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  readonly out: Tensor;
}

/** A size in a recorded attribute, seen across the traces of every dynamic dimension. */
export type ResolvedDim =
  | { readonly kind: 'fixed'; readonly size: number }
  /** Equal to a dynamic dimension of a graph input. */
  | { readonly kind: 'symbol'; readonly symbol: string }
  /** Changes with the dynamic dimensions, but not as any one of them. */
  | { readonly kind: 'varies' };

/** What an emitter works with: the builder, the op in each trace, its inputs' value names. */
export interface EmitContext {
  readonly g: GraphBuilder;
  /** The op as traced at the first set of sizes. */
  readonly step: Step;
  /** The same op traced at the second set of sizes (only when some dimension is dynamic). */
  readonly other: Step | undefined;
  /** The ONNX value names of the op's inputs. */
  readonly inputs: readonly string[];
  /** Base for the names of the values this op creates. */
  readonly name: string;
  /** Each of the two traces' sizes resolved to fixed, a symbol, or varying. */
  resolve(a: readonly number[], b: readonly number[] | undefined): ResolvedDim[];
  /** An int64 shape vector; computed from the inputs' shapes at run time where a size is a symbol. */
  shape(dims: readonly ResolvedDim[]): string;
  /** Throws an export error that names this op and where it is used. */
  fail(why: string): never;
}

type Emitter = (ctx: EmitContext) => string;

const int = (v: number): Attribute => ({ int: v });
const ints = (v: readonly number[]): Attribute => ({ ints: v });

/** `value` converted to `dtype` unless it already is. */
function castTo(ctx: EmitContext, value: string, from: Element, to: Element): string {
  if (from === to) return value;
  const code = elementType[to];
  return ctx.g.node('Cast', [value], { to: int(code) }, `${ctx.name}_cast`);
}

/** The inputs converted to the op's result dtype, as neurite promotes before computing. */
function promoted(ctx: EmitContext, indices: readonly number[] = ctx.inputs.map((_, i) => i)) {
  return indices.map((i) =>
    castTo(ctx, ctx.inputs[i]!, ctx.step.inputs[i]!.dtype, ctx.step.out.dtype),
  );
}

/** An elementwise op whose ONNX twin computes the same thing on the promoted dtype. */
function elementwise(opType: string): Emitter {
  return (ctx) => ctx.g.node(opType, promoted(ctx), {}, ctx.name);
}

/** A comparison: ONNX answers in booleans, neurite in 0/1 of the operands' dtype. */
function comparison(opType: string, negate = false): Emitter {
  return (ctx) => {
    const test = ctx.g.node(opType, promoted(ctx), {}, `${ctx.name}_test`);
    const answer = negate ? ctx.g.node('Not', [test], {}, `${ctx.name}_not`) : test;
    return castTo(ctx, answer, 'bool', ctx.step.out.dtype);
  };
}

/** Swaps the last two axes of a value of rank `ndim`. */
function transposeLast(ctx: EmitContext, value: string, ndim: number): string {
  const perm = Array.from({ length: ndim }, (_, i) => i);
  perm[ndim - 2] = ndim - 1;
  perm[ndim - 1] = ndim - 2;
  return ctx.g.node('Transpose', [value], { perm: ints(perm) }, `${ctx.name}_t`);
}

interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
}
interface ReduceAttrs {
  axes: readonly number[];
  keepdims: boolean;
}
interface Box {
  start: readonly number[];
  shape: readonly number[];
  outer: readonly number[];
  step?: readonly number[];
  value?: number;
}
type Pair = readonly [number, number];
interface ConvAttrs {
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  groups: number;
  size: Pair;
}
interface MaxPoolAttrs {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
  size: Pair;
}
interface AxisWindows {
  start: readonly number[];
  end: readonly number[];
  divisor: readonly number[];
}
interface AvgPoolAttrs {
  rows: AxisWindows;
  cols: AxisWindows;
  size: Pair;
}

/** PyTorch's windows of a fixed-size pool along an axis of `n` (as the tensor package lays them out). */
function fixedWindows(n: number, out: number, k: number, s: number, p: number, include: boolean) {
  const start: number[] = [];
  const end: number[] = [];
  const divisor: number[] = [];
  for (let i = 0; i < out; i++) {
    const lo = i * s - p;
    const hi = Math.min(lo + k, n + p);
    start.push(Math.max(lo, 0));
    end.push(Math.min(hi, n));
    divisor.push(include ? hi - lo : Math.min(hi, n) - Math.max(lo, 0));
  }
  return { start, end, divisor };
}

/**
 * The kernel, stride and padding that lay out these windows, if a fixed-size pool
 * does: average pooling records only its windows, and AveragePool needs the rule.
 */
function fitWindows(n: number, w: AxisWindows) {
  const out = w.start.length;
  if (n > 256) return null;
  const same = (f: AxisWindows) =>
    f.start.every((v, i) => v === w.start[i]) &&
    f.end.every((v, i) => v === w.end[i]) &&
    f.divisor.every((v, i) => v === w.divisor[i]);
  for (let p = 0; p <= n; p++) {
    for (let k = Math.max(1, 2 * p); k <= n + 2 * p; k++) {
      if (Math.min(k - p, n) !== w.end[0]) continue;
      for (let s = 1; s <= n + 2 * p; s++) {
        if (Math.floor((n + 2 * p - k) / s) + 1 !== out) continue;
        for (const include of [true, false]) {
          if (same(fixedWindows(n, out, k, s, p, include))) return { k, s, p, include };
        }
      }
    }
  }
  return null;
}

/** The averaging of one axis as a matrix: [out, n], or its transpose [n, out]. */
function windowMatrix(w: AxisWindows, n: number, dtype: Tensor['dtype'], transposed: boolean) {
  const out = w.start.length;
  const values = new Array<number>(out * n).fill(0);
  for (let o = 0; o < out; o++) {
    for (let i = w.start[o]!; i < w.end[o]!; i++) {
      values[transposed ? i * out + o : o * n + i] = 1 / w.divisor[o]!;
    }
  }
  const data = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  return new Tensor(data, transposed ? [n, out] : [out, n], dtype);
}

/** A reduction: ONNX takes the axes as an input (ReduceMax only from opset 18 on). */
function reduce(opType: string, axesAsInputSince: number): Emitter {
  return (ctx) => {
    const { axes, keepdims } = ctx.step.attrs as ReduceAttrs;
    if (axes.length === 0) return ctx.g.node('Identity', [ctx.inputs[0]!], {}, ctx.name);
    const attrs = { keepdims: int(keepdims ? 1 : 0) };
    if (ctx.g.opset >= axesAsInputSince) {
      return ctx.g.node(opType, [ctx.inputs[0]!, ctx.g.int64s(axes, 'axes')], attrs, ctx.name);
    }
    return ctx.g.node(opType, [ctx.inputs[0]!], { ...attrs, axes: ints(axes) }, ctx.name);
  };
}

const INT64_MAX = Number.MAX_SAFE_INTEGER;

export const emitters: Record<string, Emitter> = {
  neg: elementwise('Neg'),
  exp: elementwise('Exp'),
  log: elementwise('Log'),
  sqrt: elementwise('Sqrt'),
  abs: elementwise('Abs'),
  sign: elementwise('Sign'),
  sin: elementwise('Sin'),
  cos: elementwise('Cos'),
  tanh: elementwise('Tanh'),
  sigmoid: elementwise('Sigmoid'),
  relu: elementwise('Relu'),
  erf: elementwise('Erf'),
  add: elementwise('Add'),
  sub: elementwise('Sub'),
  mul: elementwise('Mul'),
  div: elementwise('Div'),
  pow: elementwise('Pow'),
  maximum: elementwise('Max'),
  minimum: elementwise('Min'),
  eq: comparison('Equal'),
  ne: comparison('Equal', true),
  lt: comparison('Less'),
  le: comparison('LessOrEqual'),
  gt: comparison('Greater'),
  ge: comparison('GreaterOrEqual'),
  where: (ctx) => {
    const cond = castTo(ctx, ctx.inputs[0]!, ctx.step.inputs[0]!.dtype, 'bool');
    return ctx.g.node('Where', [cond, ...promoted(ctx, [1, 2])], {}, ctx.name);
  },
  cast: (ctx) => castTo(ctx, ctx.inputs[0]!, ctx.step.inputs[0]!.dtype, ctx.step.out.dtype),

  matmul: (ctx) => {
    const { transA, transB } = ctx.step.attrs as MatmulAttrs;
    const [a, b] = ctx.step.inputs as [Tensor, Tensor];
    const [x, y] = promoted(ctx) as [string, string];
    if (a.ndim === 2 && b.ndim === 2) {
      const attrs = { transA: int(transA ? 1 : 0), transB: int(transB ? 1 : 0) };
      return ctx.g.node('Gemm', [x, y], attrs, ctx.name);
    }
    const left = transA ? transposeLast(ctx, x, a.ndim) : x;
    const right = transB ? transposeLast(ctx, y, b.ndim) : y;
    return ctx.g.node('MatMul', [left, right], {}, ctx.name);
  },

  reshape: (ctx) => {
    const dims = ctx.resolve(ctx.step.out.shape, ctx.other?.out.shape);
    const moving = dims.filter((d) => d.kind !== 'fixed').length;
    // One size that follows the dynamic dimensions is inferred: -1.
    const shape =
      moving === 1
        ? ctx.g.int64s(
            dims.map((d) => (d.kind === 'fixed' ? d.size : -1)),
            'shape',
          )
        : ctx.shape(dims);
    const attrs: Record<string, Attribute> = ctx.step.out.shape.includes(0)
      ? { allowzero: int(1) }
      : {};
    return ctx.g.node('Reshape', [ctx.inputs[0]!, shape], attrs, ctx.name);
  },

  broadcastTo: (ctx) => {
    const x = ctx.step.inputs[0]!;
    const y = ctx.other?.inputs[0];
    const offset = ctx.step.out.ndim - x.ndim;
    const dims = ctx.resolve(ctx.step.out.shape, ctx.other?.out.shape).map((d, i) => {
      // Expand broadcasts both ways: where the input already has the size, 1 keeps it.
      const follows =
        i >= offset &&
        x.shape[i - offset] === ctx.step.out.shape[i] &&
        (y === undefined || y.shape[i - offset] === ctx.other!.out.shape[i]);
      return d.kind !== 'fixed' && follows ? ({ kind: 'fixed', size: 1 } as const) : d;
    });
    return ctx.g.node('Expand', [ctx.inputs[0]!, ctx.shape(dims)], {}, ctx.name);
  },

  permute: (ctx) =>
    ctx.g.node(
      'Transpose',
      [ctx.inputs[0]!],
      { perm: ints(ctx.step.attrs as readonly number[]) },
      ctx.name,
    ),

  slice: (ctx) => {
    const a = ctx.step.attrs as Box;
    const b = ctx.other?.attrs as Box | undefined;
    const starts: number[] = [];
    const ends: number[] = [];
    const axes: number[] = [];
    const steps: number[] = [];
    a.outer.forEach((n, d) => {
      const [s, len, step] = [a.start[d]!, a.shape[d]!, a.step?.[d] ?? 1];
      const [sb, lenb, nb] = b ? [b.start[d]!, b.shape[d]!, b.outer[d]!] : [s, len, n];
      if (s === 0 && len === n && step === 1 && sb === 0 && lenb === nb) return; // the whole axis
      const span = len === 0 ? 0 : (len - 1) * step + 1;
      if (sb === s && lenb === len) {
        starts.push(s);
        ends.push(s + span);
      } else if (sb - nb === s - n && lenb === len) {
        // A fixed number of entries counted from the end: negative bounds.
        starts.push(s - n);
        ends.push(s + span - n === 0 ? INT64_MAX : s + span - n);
      } else {
        ctx.fail(
          `the slice of axis ${d} moves with a dynamic dimension (start ${s}, length ${len} of ${n}; then start ${sb}, length ${lenb} of ${nb})`,
        );
      }
      axes.push(d);
      steps.push(step);
    });
    if (axes.length === 0) return ctx.g.node('Identity', [ctx.inputs[0]!], {}, ctx.name);
    const bounds = [starts, ends, axes].map((v, i) =>
      ctx.g.int64s(v, ['starts', 'ends', 'axes'][i]),
    );
    if (steps.some((v) => v !== 1)) bounds.push(ctx.g.int64s(steps, 'steps'));
    return ctx.g.node('Slice', [ctx.inputs[0]!, ...bounds], {}, ctx.name);
  },

  flip: (ctx) => {
    const axes = ctx.step.attrs as readonly number[];
    if (axes.length === 0) return ctx.g.node('Identity', [ctx.inputs[0]!], {}, ctx.name);
    // ONNX has no Flip: a slice with step −1 from the last entry past the first.
    const bounds = [
      ctx.g.int64s(
        axes.map(() => -1),
        'starts',
      ),
      ctx.g.int64s(
        axes.map(() => -INT64_MAX),
        'ends',
      ),
      ctx.g.int64s(axes, 'axes'),
      ctx.g.int64s(
        axes.map(() => -1),
        'steps',
      ),
    ];
    return ctx.g.node('Slice', [ctx.inputs[0]!, ...bounds], {}, ctx.name);
  },

  pad: (ctx) => {
    const box = ctx.step.attrs as Box;
    if (box.step?.some((v) => v !== 1))
      ctx.fail('a strided pad occurs in gradients of strided slices, not in forward passes');
    const padsOf = (b: Box) => [
      ...b.start,
      ...b.outer.map((n, d) => n - b.start[d]! - b.shape[d]!),
    ];
    const pads = padsOf(box);
    if (ctx.other && padsOf(ctx.other.attrs as Box).join() !== pads.join())
      ctx.fail('its padding changes with a dynamic dimension');
    const inputs = [ctx.inputs[0]!, ctx.g.int64s(pads, 'pads')];
    if (box.value) {
      const fill = Tensor.scalar(box.value, ctx.step.out.dtype);
      inputs.push(ctx.g.initializer(`${ctx.name}_value`, fill));
    }
    return ctx.g.node('Pad', inputs, {}, ctx.name);
  },

  concat: (ctx) =>
    ctx.g.node('Concat', promoted(ctx), { axis: int(ctx.step.attrs as number) }, ctx.name),

  indexSelect: (ctx) =>
    ctx.g.node('Gather', [...ctx.inputs], { axis: int(ctx.step.attrs as number) }, ctx.name),

  sum: reduce('ReduceSum', 13),
  max: reduce('ReduceMax', 18),

  argmax: (ctx) => {
    const { axis, keepdims } = ctx.step.attrs as { axis: number | null; keepdims: boolean };
    const flat =
      axis === null
        ? ctx.g.node('Reshape', [ctx.inputs[0]!, ctx.g.int64s([-1], 'shape')], {}, ctx.name)
        : ctx.inputs[0]!;
    const attrs = { axis: int(axis ?? 0), keepdims: int(keepdims ? 1 : 0) };
    let index = ctx.g.node('ArgMax', [flat], attrs, ctx.name);
    if (axis === null) {
      const shape = ctx.g.int64s(ctx.step.out.shape, 'shape');
      index = ctx.g.node('Reshape', [index, shape], {}, ctx.name);
    }
    return castTo(ctx, index, 'int64', 'int32');
  },

  conv2d: (ctx) => {
    const a = ctx.step.attrs as ConvAttrs;
    const [x, w] = ctx.step.inputs as [Tensor, Tensor];
    const kernel = [w.shape[2]!, w.shape[3]!];
    // The far side's padding follows from the sizes: PyTorch's symmetric padding
    // where it gives the traced size, else what 'same' added after.
    const after = [0, 1].map((d) => {
      const n = x.shape[2 + d]!;
      const span = a.dilation[d]! * (kernel[d]! - 1) + 1;
      const symmetric = Math.floor((n + 2 * a.padding[d]! - span) / a.stride[d]!) + 1;
      return symmetric === a.size[d]
        ? a.padding[d]!
        : Math.max(0, (a.size[d]! - 1) * a.stride[d]! + span - n - a.padding[d]!);
    });
    return ctx.g.node(
      'Conv',
      promoted(ctx),
      {
        kernel_shape: ints(kernel),
        strides: ints(a.stride),
        pads: ints([...a.padding, ...after]),
        dilations: ints(a.dilation),
        group: int(a.groups),
      },
      ctx.name,
    );
  },

  convTranspose2d: (ctx) => {
    const a = ctx.step.attrs as ConvAttrs;
    const [u, w] = ctx.step.inputs as [Tensor, Tensor];
    const kernel = [w.shape[2]!, w.shape[3]!];
    const extra = [0, 1].map(
      (d) =>
        a.size[d]! -
        ((u.shape[2 + d]! - 1) * a.stride[d]! -
          2 * a.padding[d]! +
          a.dilation[d]! * (kernel[d]! - 1) +
          1),
    );
    if (extra.some((e) => e < 0))
      ctx.fail(`its output size [${a.size.join(', ')}] is smaller than ONNX's formula gives`);
    return ctx.g.node(
      'ConvTranspose',
      promoted(ctx),
      {
        kernel_shape: ints(kernel),
        strides: ints(a.stride),
        pads: ints([...a.padding, ...a.padding]),
        dilations: ints(a.dilation),
        group: int(a.groups),
        output_padding: ints(extra),
      },
      ctx.name,
    );
  },

  // Max pooling is an arg-max and a gather along the flattened H×W plane: MaxPool's
  // Indices count across the whole tensor, so they are taken modulo the plane.
  maxPool2dArgmax: (ctx) => {
    const a = ctx.step.attrs as MaxPoolAttrs;
    const x = ctx.step.inputs[0]!;
    // Ceil mode shows as one more output than rounding down gives: MaxPool's ceil_mode.
    const floor = (i: 0 | 1) =>
      Math.floor(
        (x.shape.at(i - 2)! + 2 * a.padding[i] - a.dilation[i] * (a.kernel[i] - 1) - 1) /
          a.stride[i],
      ) + 1;
    const attrs = {
      kernel_shape: ints(a.kernel),
      strides: ints(a.stride),
      pads: ints([...a.padding, ...a.padding]),
      dilations: ints(a.dilation),
      ...(a.size[0] !== floor(0) || a.size[1] !== floor(1) ? { ceil_mode: int(1) } : {}),
    };
    const [, indices] = ctx.g.nodeOutputs('MaxPool', [ctx.inputs[0]!], attrs, ctx.name, 2);
    const plane = ctx.g.int64s([x.shape.at(-2)! * x.shape.at(-1)!], 'plane');
    const within = ctx.g.node('Mod', [indices!, plane], {}, `${ctx.name}_index`);
    return castTo(ctx, within, 'int64', 'int32');
  },
  gatherLast: (ctx) => ctx.g.node('GatherElements', [...ctx.inputs], { axis: int(-1) }, ctx.name),

  avgPool2d: (ctx) => {
    const { rows, cols, size } = ctx.step.attrs as AvgPoolAttrs;
    const r = fitWindows(size[0], rows);
    const c = fitWindows(size[1], cols);
    const whole = (w: AxisWindows, n: number) =>
      w.start.length === 1 && w.start[0] === 0 && w.end[0] === n && w.divisor[0] === n;
    if (whole(rows, size[0]) && whole(cols, size[1]))
      return ctx.g.node('GlobalAveragePool', [ctx.inputs[0]!], {}, ctx.name);
    if (r && c && r.include === c.include) {
      return ctx.g.node(
        'AveragePool',
        [ctx.inputs[0]!],
        {
          kernel_shape: ints([r.k, c.k]),
          strides: ints([r.s, c.s]),
          pads: ints([r.p, c.p, r.p, c.p]),
          count_include_pad: int(r.include ? 1 : 0),
        },
        ctx.name,
      );
    }
    // Windows of no fixed size (adaptive bins): the pool is linear, Y = R·X·Cᵀ.
    const dtype = ctx.step.out.dtype;
    const R = ctx.g.initializer(`${ctx.name}_rows`, windowMatrix(rows, size[0], dtype, false));
    const C = ctx.g.initializer(`${ctx.name}_cols`, windowMatrix(cols, size[1], dtype, true));
    const left = ctx.g.node('MatMul', [R, ctx.inputs[0]!], {}, `${ctx.name}_rows`);
    return ctx.g.node('MatMul', [left, C], {}, ctx.name);
  },

  softmax: (ctx) =>
    ctx.g.node('Softmax', [ctx.inputs[0]!], { axis: int(ctx.step.attrs as number) }, ctx.name),
  logSoftmax: (ctx) =>
    ctx.g.node('LogSoftmax', [ctx.inputs[0]!], { axis: int(ctx.step.attrs as number) }, ctx.name),
};

/** Why an op with no ONNX form is refused, where there is more to say than its name. */
export const refusals: Record<string, string> = {
  bernoulli:
    'it draws random numbers (dropout in training mode?); export in evaluation mode, where dropout passes values through',
  scatterAdd: 'it occurs in gradients, not in forward passes; export the forward function',
  scatterAddLast: 'it occurs in gradients of max pooling, not in forward passes',
  conv2dWeightGrad: 'it occurs in gradients of convolutions, not in forward passes',
  avgPool2dGrad: 'it occurs in gradients of average pooling, not in forward passes',
  softmaxCrossEntropy:
    'it is a training loss over labels, not a forward pass; export the function giving the logits',
};
