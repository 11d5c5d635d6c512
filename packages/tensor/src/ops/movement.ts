import { arange, zeros } from '../create.js';
import { promote } from '../dtype.js';
import { apply } from '../engine.js';
import { AxisError, DTypeError, fmt, IndexError, OptionError, ShapeError } from '../errors.js';
import { stridedLoop } from '../kernels/strided.js';
import { defineOp, type Kernel, type Op } from '../op.js';
import {
  normalizeAxes,
  normalizeAxis,
  type Shape,
  sameShape,
  sizeOf,
  stridesOf,
} from '../shape.js';
import type { Tensor } from '../tensor.js';
import { batchAll, lifted, linear, shift } from '../transforms/rules.js';
import { elementwiseKernel } from './elementwise.js';

/** Movement primitives: they rearrange values and never change one. */

export const reshapeOp: Op<Shape> = defineOp<Shape>({
  name: 'reshape',
  alias: true,
  infer: ([x], shape) => ({ shape, dtype: x!.dtype }),
  kernel:
    () =>
    (o, [a]) =>
      o.set(a!),
  vjp: (g, [x]) => [() => g.reshape(x!.shape)],
  jvp: ([t], _x, out) => t!.reshape(out.shape),
  batch: ([x], _b, shape) => apply(reshapeOp, [x!], [x!.shape[0]!, ...shape]),
  describe: (shape) => fmt(shape),
});

export const broadcastOp: Op<Shape> = defineOp<Shape>({
  name: 'broadcastTo',
  expr: 'x0',
  infer: ([x], shape) => {
    const ok =
      shape.length >= x!.ndim &&
      x!.shape.every((d, i) => d === 1 || d === shape[shape.length - x!.ndim + i]);
    if (!ok)
      throw new ShapeError(`broadcastTo: cannot broadcast ${fmt(x!.shape)} to ${fmt(shape)}`);
    return { shape, dtype: x!.dtype };
  },
  kernel: (inputs, out) => elementwiseKernel('x0', inputs, out),
  // The engine sums the gradient back to the input's shape.
  vjp: (g) => [() => g],
  jvp: ([t], _x, out) => t!.broadcastTo(out.shape),
  batch: ([x], _b, shape) =>
    apply(broadcastOp, [lifted(x!, shape.length)], [x!.shape[0]!, ...shape]),
  describe: (shape) => fmt(shape),
});

export const permuteOp: Op<readonly number[]> = defineOp<readonly number[]>({
  name: 'permute',
  infer: ([x], axes) => ({ shape: axes.map((a) => x!.shape[a]!), dtype: x!.dtype }),
  kernel: ([x], out, axes) => {
    const strides = stridesOf(x!.shape);
    return stridedLoop({
      shape: out.shape,
      outStrides: stridesOf(out.shape),
      inStrides: [axes.map((a) => strides[a]!)],
      body: 'O[o] = x0;',
    });
  },
  vjp: (g, _x, _out, axes) => {
    const inverse = new Array<number>(axes.length);
    axes.forEach((a, i) => {
      inverse[a] = i;
    });
    return [() => g.permute(inverse)];
  },
  jvp: linear(() => permuteOp),
  batch: ([x], _b, axes) => apply(permuteOp, [x!], [0, ...shift(axes)]),
  describe: (axes) => `[${axes.join(',')}]`,
});

/**
 * A box of `shape` inside a larger tensor of shape `outer`, starting at
 * `start` and taking every `step`-th entry along each axis (1 where absent).
 */
export interface Box {
  readonly start: readonly number[];
  readonly shape: Shape;
  readonly outer: Shape;
  readonly step?: readonly number[];
  /** What `pad` fills the rest of the outer tensor with (0 where absent). */
  readonly value?: number;
}

const stepped = (strides: readonly number[], step: readonly number[] | undefined) =>
  step ? strides.map((s, d) => s * step[d]!) : strides;

const describeBox = ({ start, step, value }: Box) =>
  `start=[${start.join(',')}]${step?.some((s) => s !== 1) ? ` step=[${step.join(',')}]` : ''}${value ? ` value=${value}` : ''}`;

export const sliceOp: Op<Box> = defineOp<Box>({
  name: 'slice',
  infer: ([x], box) => ({ shape: box.shape, dtype: x!.dtype }),
  kernel: ([x], out, { start, step }) => {
    const strides = stridesOf(x!.shape);
    return stridedLoop({
      shape: out.shape,
      outStrides: stridesOf(out.shape),
      inStrides: [stepped(strides, step)],
      inOffsets: [start.reduce((s, v, d) => s + v * strides[d]!, 0)],
      body: 'O[o] = x0;',
    });
  },
  vjp: (g, _x, _out, box) => [() => apply(padOp, [g], box.value ? { ...box, value: 0 } : box)],
  jvp: linear(() => sliceOp),
  batch: ([x], _b, box) => apply(sliceOp, [x!], batchBox(box, x!.shape[0]!)),
  describe: (box) => `${describeBox(box)} size=${fmt(box.shape)}`,
});

/**
 * The adjoint of slice: places the input at the box's entries of a tensor of
 * the outer shape filled with `value` (0 by default).
 */
export const padOp: Op<Box> = defineOp<Box>({
  name: 'pad',
  infer: ([x], box) => ({ shape: box.outer, dtype: x!.dtype }),
  kernel: ([x], out, { start, step, value = 0 }) => {
    const strides = stridesOf(out.shape);
    const offset = start.reduce((s, v, d) => s + v * strides[d]!, 0);
    const loop = stridedLoop({
      shape: x!.shape,
      outStrides: stepped(strides, step),
      inStrides: [stridesOf(x!.shape)],
      body: `O[o + ${offset}] = x0;`,
    });
    return (o, ins) => {
      o.fill(value);
      loop(o, ins);
    };
  },
  vjp: (g, _x, _out, box) => [() => apply(sliceOp, [g], box)],
  // The fill value is a constant: its tangent is 0.
  jvp: ([t], _x, _out, box) => apply(padOp, [t!], box.value ? { ...box, value: 0 } : box),
  batch: ([x], _b, box) => apply(padOp, [x!], batchBox(box, x!.shape[0]!)),
  describe: (box) => `${describeBox(box)} into ${fmt(box.outer)}`,
});

/** Reverses the order of entries along `axes`. */
export const flipOp: Op<readonly number[]> = defineOp<readonly number[]>({
  name: 'flip',
  infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
  kernel: ([x], out, axes) => {
    const strides = stridesOf(x!.shape);
    return stridedLoop({
      shape: out.shape,
      outStrides: strides,
      inStrides: [strides.map((s, d) => (axes.includes(d) ? -s : s))],
      inOffsets: [axes.reduce((o, d) => o + (x!.shape[d]! - 1) * strides[d]!, 0)],
      body: 'O[o] = x0;',
    });
  },
  vjp: (g, _x, _out, axes) => [() => apply(flipOp, [g], axes)],
  jvp: linear(() => flipOp),
  batch: ([x], _b, axes) => apply(flipOp, [x!], shift(axes)),
  describe: (axes) => `axes=[${axes.join(',')}]`,
});

export const concatOp: Op<number> = defineOp<number>({
  name: 'concat',
  infer: (xs, axis) => {
    const first = xs[0]!;
    for (const x of xs) {
      const ok =
        x.ndim === first.ndim && x.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok) {
        throw new ShapeError(
          `concat: shapes differ outside axis ${axis}: ${xs.map((t) => fmt(t.shape)).join(', ')}`,
        );
      }
    }
    const shape = first.shape.slice();
    shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
    return { shape, dtype: xs.map((x) => x.dtype).reduce(promote) };
  },
  kernel: (xs, out, axis) => {
    const strides = stridesOf(out.shape);
    let at = 0;
    const copies = xs.map((x) => {
      const offset = at * strides[axis]!;
      at += x.shape[axis]!;
      return stridedLoop({
        shape: x.shape,
        outStrides: strides,
        inStrides: [stridesOf(x.shape)],
        body: `O[o + ${offset}] = x0;`,
      });
    });
    return (o, ins) => {
      copies.forEach((copy, k) => {
        copy(o, [ins[k]!]);
      });
    };
  },
  vjp: (g, xs, _out, axis) => {
    let at = 0;
    return xs.map((x) => {
      const begin = at;
      at += x.shape[axis]!;
      return () => g.narrow(axis, begin, x.shape[axis]!);
    });
  },
  jvp: (ts, xs, _out, axis) =>
    apply(
      concatOp,
      ts.map((t, k) => t ?? zerosOf(xs[k]!)),
      axis,
    ),
  batch: (xs, batched, axis, size) => apply(concatOp, batchAll(xs, batched, size), axis + 1),
  describe: (axis) => `axis=${axis}`,
});

/** Rows (along `axis`) of x picked by int32 indices: `out = x[..., idx, ...]`. */
export const indexSelectOp: Op<number> = defineOp<number>({
  name: 'indexSelect',
  infer: ([x, idx], axis) => {
    if (idx!.dtype !== 'int32') {
      throw new DTypeError(
        `indexSelect: indices must be int32, got ${idx!.dtype} of shape ${fmt(idx!.shape)}`,
      );
    }
    const shape = [...x!.shape.slice(0, axis), ...idx!.shape, ...x!.shape.slice(axis + 1)];
    return { shape, dtype: x!.dtype };
  },
  kernel: ([x], _out, axis) => {
    const [outer, n, inner] = split(x!.shape, axis);
    return (o, [a, idx]) => {
      const m = idx!.length;
      for (let i = 0; i < outer; i++) {
        for (let j = 0; j < m; j++) {
          const r = checkIndex('indexSelect', idx![j]!, n, j);
          const src = (i * n + r) * inner;
          o.set(a!.subarray(src, src + inner), (i * m + j) * inner);
        }
      }
    };
  },
  vjp: (g, [x, idx], _out, axis) => [
    () => apply(scatterAddOp, [g, idx!], { axis, size: x!.shape[axis]! }),
    null,
  ],
  jvp: linear(() => indexSelectOp),
  batch: ([x, idx], [bx, bi], axis, size) => {
    if (!bi) return apply(indexSelectOp, [x!, idx!], axis + 1);
    // Each example's own indices: move the axis first, fold the batch into
    // it, and offset each example's indices by its block.
    const xb = bx ? x! : x!.expandDims(0).broadcastTo([size, ...x!.shape]);
    const rest = xb.shape.filter((_, d) => d !== 0 && d !== axis + 1);
    const n = xb.shape[axis + 1]!;
    const folded = moveAxis(xb, axis + 1, 1).reshape([size * n, ...rest]);
    const picked = apply(indexSelectOp, [folded, blockOffsets(idx!, n, size)], 0);
    // [B, ...idx, ...rest] back to [B, ...before axis, ...idx, ...after axis]
    const m = idx!.ndim - 1;
    const before = axis;
    const order = [
      0,
      ...Array.from({ length: before }, (_, i) => 1 + m + i),
      ...Array.from({ length: m }, (_, i) => 1 + i),
      ...Array.from({ length: rest.length - before }, (_, i) => 1 + m + before + i),
    ];
    return picked.reshape([size, ...idx!.shape.slice(1), ...rest]).permute(order);
  },
  describe: (axis) => `axis=${axis}`,
});

/** Sums rows of g into the rows of a zero tensor that int32 indices name: indexSelect's VJP. */
export const scatterAddOp: Op<{ axis: number; size: number }> = defineOp<{
  axis: number;
  size: number;
}>({
  name: 'scatterAdd',
  infer: ([g, idx], { axis, size }) => {
    const shape = [...g!.shape.slice(0, axis), size, ...g!.shape.slice(axis + idx!.ndim)];
    return { shape, dtype: g!.dtype };
  },
  kernel: ([, idx], out, { axis }): Kernel => {
    const [outer, n, inner] = split(out.shape, axis);
    const m = sizeOf(idx!.shape);
    return (o, [g, ix]) => {
      o.fill(0);
      for (let i = 0; i < outer; i++) {
        for (let j = 0; j < m; j++) {
          const r = checkIndex('scatterAdd', ix![j]!, n, j);
          const dst = (i * n + r) * inner;
          const src = (i * m + j) * inner;
          for (let t = 0; t < inner; t++) o[dst + t]! += g![src + t]!;
        }
      }
    };
  },
  vjp: (g, [, idx], _out, { axis }) => [() => apply(indexSelectOp, [g, idx!], axis), null],
  jvp: linear(() => scatterAddOp),
  batch: ([g, idx], [bg, bi], { axis, size: n }, size) => {
    if (!bi) return apply(scatterAddOp, [g!, idx!], { axis: axis + 1, size: n });
    // As indexSelect's rule: the indexed axes first, the batch folded into them.
    const gb = bg ? g! : g!.expandDims(0).broadcastTo([size, ...g!.shape]);
    const m = idx!.ndim - 1;
    const lead = Array.from({ length: m }, (_, i) => 1 + axis + i);
    const others = gb.shape.map((_, d) => d).filter((d) => d !== 0 && !lead.includes(d));
    const moved = gb.permute([0, ...lead, ...others]);
    const rest = others.map((d) => gb.shape[d]!);
    const flat = moved.reshape([-1, ...rest]);
    const summed = apply(scatterAddOp, [flat, blockOffsets(idx!, n, size).flatten()], {
      axis: 0,
      size: size * n,
    });
    return moveAxis(summed.reshape([size, n, ...rest]), 1, axis + 1);
  },
  describe: ({ axis, size }) => `axis=${axis} size=${size}`,
});

/** Moves axis `from` to position `to`. */
function moveAxis(x: Tensor, from: number, to: number): Tensor {
  const order = x.shape.map((_, d) => d).filter((d) => d !== from);
  order.splice(to, 0, from);
  return x.permute(order);
}

/** Batched int32 indices [B, ...] into blocks of `n`: example b's indices shifted by b·n. */
function blockOffsets(idx: Tensor, n: number, size: number): Tensor {
  const offsets = arange(0, size * n, n).reshape([size, ...idx.shape.slice(1).map(() => 1)]);
  return idx.add(offsets);
}

/** A slice or pad box with the batch axis taken whole. */
function batchBox(box: Box, size: number): Box {
  return {
    ...box,
    start: [0, ...box.start],
    shape: [size, ...box.shape],
    outer: [size, ...box.outer],
    ...(box.step ? { step: [1, ...box.step] } : {}),
  };
}

function zerosOf(x: Tensor): Tensor {
  return zeros(x.shape, { dtype: x.dtype });
}

function split(shape: Shape, axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}

function checkIndex(op: string, i: number, n: number, at: number): number {
  if (i < 0 || i >= n)
    throw new IndexError(`${op}: index ${i} at position ${at} is out of range [0, ${n})`);
  return i;
}

// ---- functions ---------------------------------------------------------------

/** Same values, new shape; one axis may be -1 and is inferred. Shares storage. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const holes = shape.filter((d) => d === -1).length;
  const resolved =
    holes === 1 && known > 0 ? shape.map((d) => (d === -1 ? x.size / known : d)) : shape.slice();
  if (
    holes > 1 ||
    resolved.some((d) => !Number.isInteger(d) || d < 0) ||
    sizeOf(resolved) !== x.size
  ) {
    throw new ShapeError(
      `reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) to ${fmt(shape)}`,
    );
  }
  if (sameShape(resolved, x.shape)) return x;
  return apply(reshapeOp, [x], resolved);
}

export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(shape, x.shape)) return x;
  return apply(broadcastOp, [x], shape.slice());
}

export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normalizeAxis('permute', a, x.ndim));
  if (norm.length !== x.ndim || new Set(norm).size !== x.ndim) {
    throw new ShapeError(
      `permute: axes [${axes.join(', ')}] are not a permutation of the axes of ${fmt(x.shape)}`,
    );
  }
  if (norm.every((a, i) => a === i)) return x;
  return apply(permuteOp, [x], norm);
}

/** Swaps two axes (the last two by default). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  // `.T` of a vector or scalar is itself, as in NumPy; explicit axes are still checked.
  if (x.ndim < 2 && axis0 === -2 && axis1 === -1) return x;
  const a = normalizeAxis('transpose', axis0, x.ndim);
  const b = normalizeAxis('transpose', axis1, x.ndim);
  const axes = Array.from({ length: x.ndim }, (_, i) => i);
  axes[a] = b;
  axes[b] = a;
  return permute(x, axes);
}

/** Resolves where a new axis goes among `shape`'s ndim + 1 positions. */
function newAxis(op: string, axis: number, shape: Shape): number {
  const n = shape.length + 1;
  if (!Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new AxisError(
      `${op}: new axis ${axis} is out of range [${-n}, ${n - 1}] for a tensor of shape ${fmt(shape)}`,
    );
  }
  return axis < 0 ? axis + n : axis;
}

/** Inserts an axis of extent 1 at `axis`. */
export function expandDims(x: Tensor, axis: number): Tensor {
  const a = newAxis('expandDims', axis, x.shape);
  const shape = x.shape.slice();
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Removes axes of extent 1 (all of them, or those named). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  const list =
    axes === undefined
      ? x.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : (typeof axes === 'number' ? [axes] : axes).map((a) => normalizeAxis('squeeze', a, x.ndim));
  for (const a of list) {
    if (x.shape[a] !== 1)
      throw new ShapeError(`squeeze: axis ${a} of ${fmt(x.shape)} has extent ${x.shape[a]}, not 1`);
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !list.includes(i)),
  );
}

/**
 * The box `[begin, end)` along each axis, every `step`-th entry (a positive
 * step; 1 by default); missing axes are taken whole and negative bounds count
 * from the end, as in Python.
 *
 * @example
 * x.slice([0, 2], [10, 5]); // rows 0..9, columns 2..4
 * x.slice([0, 0], [undefined, undefined], [2, 2]); // every other row and column
 */
export function slice(
  x: Tensor,
  begin: readonly number[],
  end?: readonly (number | undefined)[],
  step?: readonly number[],
): Tensor {
  if (begin.length > x.ndim || (end?.length ?? 0) > x.ndim || (step?.length ?? 0) > x.ndim) {
    throw new ShapeError(
      `slice: more bounds or steps given than the ${x.ndim} axes of a tensor of shape ${fmt(x.shape)}`,
    );
  }
  if (step && !step.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new OptionError(
      `slice: step [${step.join(', ')}] must be positive integers (shape ${fmt(x.shape)})`,
    );
  }
  const start: number[] = [];
  const shape: number[] = [];
  const steps: number[] = [];
  x.shape.forEach((n, d) => {
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const s = clamp(begin[d] ?? 0);
    const e = clamp(end?.[d] ?? n);
    const k = step?.[d] ?? 1;
    start.push(s);
    shape.push(Math.max(Math.ceil((e - s) / k), 0));
    steps.push(k);
  });
  if (sameShape(shape, x.shape)) return x;
  const box = steps.some((k) => k !== 1)
    ? { start, shape, outer: x.shape, step: steps }
    : { start, shape, outer: x.shape };
  return apply(sliceOp, [x], box);
}

/** Options of `pad`, as in PyTorch's `F.pad`. */
export interface PadOptions {
  /**
   * `'constant'` fills with `value`; `'reflect'` mirrors the input without
   * repeating its edge; `'replicate'` repeats the edge; `'circular'` wraps around.
   */
  mode?: 'constant' | 'reflect' | 'replicate' | 'circular';
  /** The fill of constant padding (0 by default). */
  value?: number;
}

/**
 * Pads the last axes, in PyTorch's `F.pad` order: `[left, right]` of the last
 * axis, then `[top, bottom]` of the one before, and so on. Constant padding
 * may be negative (it crops); reflect padding must be smaller than the axis,
 * circular padding at most the axis.
 *
 * @example
 * pad(x, [1, 1, 2, 2]); // [N, C, H, W] -> [N, C, H + 4, W + 2], zeros around
 * pad(x, [2, 2], { mode: 'reflect' }); // [1, 2, 3] -> [3, 2, 1, 2, 3, 2, 1]
 * pad(x, [2, 2], { mode: 'replicate' }); // [1, 2, 3] -> [1, 1, 1, 2, 3, 3, 3]
 * pad(x, [2, 2], { mode: 'circular' }); // [1, 2, 3] -> [2, 3, 1, 2, 3, 1, 2]
 */
export function pad(x: Tensor, pads: readonly number[], options: PadOptions = {}): Tensor {
  const { mode = 'constant', value = 0 } = options;
  if (pads.length % 2 !== 0 || pads.length > 2 * x.ndim) {
    throw new ShapeError(
      `pad: pads [${pads.join(', ')}] must be pairs (before, after) for at most the ${x.ndim} axes of ${fmt(x.shape)}`,
    );
  }
  if (!pads.every((p) => Number.isInteger(p))) {
    throw new OptionError(`pad: pads [${pads.join(', ')}] must be integers`);
  }
  if (x.dtype === 'int32' && !Number.isInteger(value)) {
    throw new DTypeError(
      `pad: value ${value} cannot fill an int32 tensor of shape ${fmt(x.shape)} (cast the tensor first)`,
    );
  }
  if (!['constant', 'reflect', 'replicate', 'circular'].includes(mode)) {
    throw new OptionError(
      `pad: mode '${String(mode)}' must be 'constant', 'reflect', 'replicate' or 'circular'`,
    );
  }
  // Per axis, outermost first.
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[x.ndim - 1 - k] = pads[2 * k]!;
    after[x.ndim - 1 - k] = pads[2 * k + 1]!;
  }
  if (mode !== 'constant') {
    x.shape.forEach((n, d) => {
      const b = before[d]!;
      const a = after[d]!;
      if (b === 0 && a === 0) return;
      const fits =
        mode === 'reflect' ? b < n && a < n : mode === 'circular' ? b <= n && a <= n : n > 0;
      if (b < 0 || a < 0 || !fits) {
        const rule =
          mode === 'reflect'
            ? 'non-negative and smaller than each padded axis'
            : mode === 'circular'
              ? 'non-negative and at most each padded axis'
              : 'non-negative, on non-empty axes';
        throw new ShapeError(
          `pad: ${mode} padding [${pads.join(', ')}] must be ${rule} of ${fmt(x.shape)}`,
        );
      }
    });
    // Slices of the input concatenated around it (mirrored, repeated edges or
    // wrapped): slice, flip, broadcast and concat carry the gradient (and its
    // gradient), so these modes need no primitive of their own.
    let y = x;
    x.shape.forEach((n, d) => {
      const b = before[d]!;
      const a = after[d]!;
      if (b === 0 && a === 0) return;
      const edge = (at: number, count: number) => {
        const shape = y.shape.slice();
        shape[d] = count;
        return narrow(y, d, at, 1).broadcastTo(shape);
      };
      const parts: Tensor[] = [];
      if (b > 0) {
        if (mode === 'reflect') parts.push(flip(narrow(y, d, 1, b), d));
        else if (mode === 'replicate') parts.push(edge(0, b));
        else parts.push(narrow(y, d, n - b, b));
      }
      parts.push(y);
      if (a > 0) {
        if (mode === 'reflect') parts.push(flip(narrow(y, d, n - 1 - a, a), d));
        else if (mode === 'replicate') parts.push(edge(n - 1, a));
        else parts.push(narrow(y, d, 0, a));
      }
      y = concat(parts, d);
    });
    return y;
  }
  const outer = x.shape.map((n, d) => n + before[d]! + after[d]!);
  if (outer.some((n) => n < 0)) {
    throw new ShapeError(`pad: pads [${pads.join(', ')}] crop more than all of ${fmt(x.shape)}`);
  }
  // Negative pads crop first; what is left is placed in the filled tensor.
  const cropped = slice(
    x,
    before.map((b) => Math.max(-b, 0)),
    after.map((a, d) => x.shape[d]! - Math.max(-a, 0)),
  );
  const start = before.map((b) => Math.max(b, 0));
  if (sameShape(cropped.shape, outer)) return cropped;
  return apply(padOp, [cropped], {
    start,
    shape: cropped.shape,
    outer,
    ...(value !== 0 ? { value } : {}),
  });
}

/**
 * Reverses the order of entries along the given axes.
 *
 * @example
 * flip(tensor([[1, 2], [3, 4]]), 1); // [[2, 1], [4, 3]]
 */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  const list = normalizeAxes('flip', axes, x.ndim).filter((d) => x.shape[d]! > 1);
  if (list.length === 0) return x;
  return apply(flipOp, [x], list);
}

/** `length` entries along `axis` from `start`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normalizeAxis('narrow', axis, x.ndim);
  const n = x.shape[a]!;
  if (start < 0 || length < 0 || start + length > n) {
    throw new IndexError(
      `narrow: [${start}, ${start + length}) is out of range for axis ${a} of ${fmt(x.shape)}`,
    );
  }
  const begin = x.shape.map((_, d) => (d === a ? start : 0));
  const end = x.shape.map((s, d) => (d === a ? start + length : s));
  return slice(x, begin, end);
}

/** Joins tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const a = normalizeAxis('concat', axis, xs[0]!.ndim);
  if (xs.length === 1) return xs[0]!;
  return apply(concatOp, xs, a);
}

/** Joins tensors of one shape along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('stack: needs at least one tensor');
  const first = xs[0]!;
  for (const x of xs) {
    if (!sameShape(x.shape, first.shape)) {
      throw new ShapeError(`stack: shapes differ: ${xs.map((t) => fmt(t.shape)).join(', ')}`);
    }
  }
  const a = newAxis('stack', axis, first.shape);
  return concat(
    xs.map((x) => expandDims(x, a)),
    a,
  );
}

/**
 * Entries along `axis` at the given int32 indices (any shape of indices).
 *
 * @example
 * indexSelect(embeddings, 0, tokenIds);
 */
export function indexSelect(x: Tensor, axis: number, indices: Tensor): Tensor {
  return apply(indexSelectOp, [x, indices], normalizeAxis('indexSelect', axis, x.ndim));
}
