import { AxisError, fmt, ShapeError } from './errors.js';

/** A tensor's extent along each axis, outermost first. */
export type Shape = readonly number[];

/** Number of elements of a tensor of this shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides, in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy's broadcasting rule: align from the right; each pair of extents must agree or one be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = ndim - s.length + i;
      const d = s[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else
        throw new ShapeError(
          `${op}: shapes cannot be broadcast together: ${shapes.map(fmt).join(', ')}`,
        );
    }
  }
  return out;
}

/** Resolves a possibly negative axis against `ndim`, or throws an AxisError naming the op. */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1)) {
    throw new AxisError(`${op}: axis ${axis} is out of range for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Sorted, unique, non-negative axes; `undefined` means all of them. */
export function normalizeAxes(
  op: string,
  axes: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = [...new Set(list.map((a) => normalizeAxis(op, a, ndim)))].sort((x, y) => x - y);
  if (out.length !== list.length)
    throw new AxisError(`${op}: repeated axis in [${list.join(', ')}]`);
  return out;
}

/** The shape left after reducing `axes`, keeping them as 1s when `keepdims`. */
export function reducedShape(shape: Shape, axes: readonly number[], keepdims: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (!axes.includes(i)) out.push(shape[i]!);
    else if (keepdims) out.push(1);
  }
  return out;
}
