/**
 * Test support: seeded data and reference implementations written with plain
 * index arithmetic, independently of the library's shape and kernel code, so
 * that they can serve as oracles.
 */
import { expect } from 'vitest';
import { Rng, type Tensor, tensor } from '../src/index.js';

/** Uniform float64 values in [lo, hi) from a fixed seed. */
export function uniform(shape: readonly number[], seed: number, lo = -1, hi = 1): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.float();
  return tensor(data, { shape });
}

/** Uniform values whose magnitude is at least `gap`, for ops with a kink at 0. */
export function awayFromZero(shape: readonly number[], seed: number, gap = 0.1): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const m = gap + (1 - gap) * rng.float();
    data[i] = rng.float() < 0.5 ? -m : m;
  }
  return tensor(data, { shape });
}

/** Int32 indices in [0, n). */
export function indices(shape: readonly number[], n: number, seed: number): Tensor {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Int32Array(size);
  for (let i = 0; i < size; i++) data[i] = rng.int(n);
  return tensor(data, { shape });
}

// ---- index arithmetic --------------------------------------------------------

export function sizeOfRef(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Multi-index of flat position `flat` in a row-major array of `shape`. */
export function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = flat % n;
    flat = Math.floor(flat / n);
  }
  return idx;
}

/** Flat position of a multi-index in a row-major array of `shape`. */
export function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + idx[d]!;
  return flat;
}

/**
 * NumPy's broadcasting rule, stated as NumPy's documentation states it:
 * pad the shorter shape with leading 1s, then each axis takes the non-1
 * extent, and two different non-1 extents are an error (null here).
 */
export function broadcastRef(...shapes: (readonly number[])[]): number[] | null {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const padded = shapes.map((s) => [...new Array<number>(rank - s.length).fill(1), ...s]);
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    const extents = new Set(padded.map((s) => s[d]!).filter((n) => n !== 1));
    if (extents.size > 1) return null;
    out.push(extents.size === 1 ? [...extents][0]! : 1);
  }
  return out;
}

/** The element of an array of `shape` that position `idx` of a broadcast result reads. */
export function broadcastIndex(idx: readonly number[], shape: readonly number[]): number {
  const lead = idx.length - shape.length;
  return ravel(
    shape.map((n, d) => (n === 1 ? 0 : idx[d + lead]!)),
    shape,
  );
}

/** Values of `t` as a plain array. */
export function values(t: Tensor): number[] {
  return Array.from(t.data);
}

// ---- reference ops -------------------------------------------------------------

/** Batched matmul by the textbook triple loop, batch axes broadcast. */
export function matmulRef(
  a: Tensor,
  b: Tensor,
  transA = false,
  transB = false,
): { shape: number[]; data: number[] } {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) throw new Error('matmulRef: inner dimensions differ');
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastRef(aBatch, bBatch);
  if (!batch) throw new Error('matmulRef: batch shapes differ');
  const shape = [...batch, m, n];
  const data: number[] = [];
  for (let t = 0; t < sizeOfRef(batch); t++) {
    const bi = unravel(t, batch);
    const aBase = broadcastIndex(bi, aBatch) * ar * ac;
    const bBase = broadcastIndex(bi, bBatch) * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = a.data[aBase + (transA ? p * ac + i : i * ac + p)]!;
          const bv = b.data[bBase + (transB ? j * bc + p : p * bc + j)]!;
          s += av * bv;
        }
        data.push(s);
      }
    }
  }
  return { shape, data };
}

export type Reducer = 'sum' | 'mean' | 'max' | 'min';

/** A reduction over `axes` by visiting every input element once. */
export function reduceRef(
  t: Tensor,
  axes: readonly number[],
  keepdims: boolean,
  kind: Reducer,
): { shape: number[]; data: number[] } {
  const keptShape = t.shape.map((n, d) => (axes.includes(d) ? 1 : n));
  const acc: number[][] = Array.from({ length: sizeOfRef(keptShape) }, () => []);
  for (let f = 0; f < t.size; f++) {
    const idx = unravel(f, t.shape);
    const o = ravel(
      idx.map((v, d) => (axes.includes(d) ? 0 : v)),
      keptShape,
    );
    acc[o]!.push(t.data[f]!);
  }
  const data = acc.map((xs) => {
    if (kind === 'sum') return xs.reduce((s, v) => s + v, 0);
    if (kind === 'mean') return xs.reduce((s, v) => s + v, 0) / xs.length;
    if (kind === 'max') return Math.max(...xs);
    return Math.min(...xs);
  });
  const shape = keepdims ? keptShape : t.shape.filter((_, d) => !axes.includes(d));
  return { shape, data };
}

export function permuteRef(t: Tensor, axes: readonly number[]): number[] {
  const shape = axes.map((a) => t.shape[a]!);
  const out: number[] = [];
  for (let f = 0; f < sizeOfRef(shape); f++) {
    const idx = unravel(f, shape);
    const src = new Array<number>(t.ndim);
    axes.forEach((a, i) => {
      src[a] = idx[i]!;
    });
    out.push(t.data[ravel(src, t.shape)]!);
  }
  return out;
}

/** Elements of the box [begin, end) (bounds already in range). */
export function sliceRef(t: Tensor, begin: readonly number[], end: readonly number[]): number[] {
  const shape = t.shape.map((_, d) => end[d]! - begin[d]!);
  const out: number[] = [];
  for (let f = 0; f < sizeOfRef(shape); f++) {
    const idx = unravel(f, shape);
    out.push(
      t.data[
        ravel(
          idx.map((v, d) => v + begin[d]!),
          t.shape,
        )
      ]!,
    );
  }
  return out;
}

export function concatRef(ts: readonly Tensor[], axis: number): number[] {
  const shape = ts[0]!.shape.slice();
  shape[axis] = ts.reduce((s, t) => s + t.shape[axis]!, 0);
  const out: number[] = [];
  for (let f = 0; f < sizeOfRef(shape); f++) {
    const idx = unravel(f, shape);
    let at = idx[axis]!;
    let k = 0;
    while (at >= ts[k]!.shape[axis]!) {
      at -= ts[k]!.shape[axis]!;
      k++;
    }
    const src = idx.slice();
    src[axis] = at;
    out.push(ts[k]!.data[ravel(src, ts[k]!.shape)]!);
  }
  return out;
}

// ---- assertions ----------------------------------------------------------------

/** Element-wise |a − b| ≤ atol + rtol·|b|, reporting the first offending position. */
export function expectAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { rtol = 1e-9, atol = 1e-12 } = {},
): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      expect(a, `element ${i}`).toBe(e);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (rtol ${rtol}, atol ${atol})`);
    }
  }
}

/** A thrown error's class and message, for checking both at once. */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`threw a non-Error: ${String(e)}`);
  }
  throw new Error('expected an error, but none was thrown');
}
