import type { TypedArray } from '../dtype.js';
import { denseAvailable, heap } from './dense.js';
import { arena, pointerOf } from './memory.js';
import type { RowSplit } from './row-split.js';
import { IN_PLACE_WORK, onceRegistered, parallel, registerFunction, share } from './threads.js';
import {
  type Code,
  type Func,
  f32,
  f32load,
  f32store,
  func,
  get,
  i32,
  i32c,
  i32load,
  i32store,
  inc,
  memoryFill,
  set,
  until,
} from './wasm/emit.js';

/**
 * Pooling kernels over planes: a tensor [..., H, W] is `planes` = the product
 * of its leading extents, each an H×W image. Plain loops; none allocates.
 */

/** A max pooling window: kernel, stride, padding and dilation per axis, and the sizes. */
export interface PoolGeometry {
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
}

/**
 * For each output position, the flat index (within its H×W plane) of the
 * largest input in its window: the first in row-major window order among
 * ties, a NaN over any number. Padding is never chosen (it is −∞).
 */
export function maxPoolArgmax(g: PoolGeometry, x: TypedArray, idx: TypedArray): void {
  const { planes, h: H, w: W, oh: OH, ow: OW, kh, kw, sh, sw, ph, pw, dh, dw } = g;
  if (
    kh === 2 &&
    kw === 2 &&
    sh === 2 &&
    sw === 2 &&
    ph === 0 &&
    pw === 0 &&
    dh === 1 &&
    dw === 1 &&
    2 * OH <= H &&
    2 * OW <= W
  ) {
    const h = x instanceof Float32Array && idx instanceof Int32Array && denseAvailable() && heap();
    if (h) {
      // The WebAssembly kernel: four windows at a time, no branch on the data;
      // parts take runs of planes. Arrays in the kernels' memory (a compiled
      // plan's) are read and written in place; others are copied in, and the
      // indices out, part by part.
      const at = h.arena.start;
      const f = h.reserve(at + planes * (H * W + OH * OW));
      const px = pointerOf(x);
      const pi = pointerOf(idx);
      const src = px >= 0 ? px : at * 4;
      const dst = pi >= 0 ? pi : (at + planes * H * W) * 4;
      const out = new Int32Array(f.buffer, dst, planes * OH * OW);
      parallel(
        planes * H * W * (px >= 0 ? IN_PLACE_WORK : 1), // by values, as loops are
        (lane, t, parts) => {
          const [p0, p1] = share(planes, t, parts);
          if (p0 === p1) return;
          if (px < 0) f.set(x.subarray(p0 * H * W, p1 * H * W), at + p0 * H * W);
          const from = src + p0 * H * W * 4;
          lane.call('maxpool2', from, p1 - p0, H, W, OH, OW, dst + p0 * OH * OW * 4);
        },
        pi >= 0
          ? undefined
          : (t, parts) => {
              const [p0, p1] = share(planes, t, parts);
              idx.set(out.subarray(p0 * OH * OW, p1 * OH * OW), p0 * OH * OW);
            },
      );
    } else maxPool2x2(planes, H, W, OH, OW, x, idx);
    return;
  }
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    let o = p * OH * OW;
    for (let y = 0; y < OH; y++) {
      const h0 = y * sh - ph;
      for (let t = 0; t < OW; t++, o++) {
        const w0 = t * sw - pw;
        let best = -1;
        let bestValue = 0;
        for (let i = 0; i < kh; i++) {
          const ih = h0 + i * dh;
          if (ih < 0 || ih >= H) continue;
          for (let j = 0; j < kw; j++) {
            const iw = w0 + j * dw;
            if (iw < 0 || iw >= W) continue;
            const v = x[plane + ih * W + iw]!;
            if (best < 0 || v > bestValue || (v !== v && bestValue === bestValue)) {
              best = ih * W + iw;
              bestValue = v;
            }
          }
        }
        idx[o] = best;
      }
    }
  }
}

/**
 * maxPoolArgmax as a row-local kernel (row-split.ts) over `rows` (the
 * leading extent; planes a multiple of it), when the WebAssembly kernel
 * runs the geometry (2×2 windows at stride 2, no padding): blocks of rows
 * are runs of planes, read and written in place in the kernels' memory.
 */
export function maxPoolRows(g: PoolGeometry, rows: number): RowSplit | null {
  const { planes, h: H, w: W, oh: OH, ow: OW } = g;
  const two = g.kh === 2 && g.kw === 2 && g.sh === 2 && g.sw === 2;
  const plain = g.ph === 0 && g.pw === 0 && g.dh === 1 && g.dw === 1;
  if (!two || !plain || 2 * OH > H || 2 * OW > W || rows < 1 || planes % rows !== 0) return null;
  const per = planes / rows;
  let px = 0;
  let pi = 0;
  return {
    rows,
    align: 1,
    rowInputs: [0],
    outInputs: [],
    bound: planes * H * W * IN_PLACE_WORK,
    work: (o, [x]) =>
      x instanceof Float32Array &&
      o instanceof Int32Array &&
      denseAvailable() &&
      pointerOf(x) >= 0 &&
      pointerOf(o) >= 0
        ? planes * H * W * IN_PLACE_WORK
        : 0,
    prepare(o, [x], at) {
      px = pointerOf(x!);
      pi = pointerOf(o);
      return at;
    },
    part(lane, r0, r1) {
      const [p0, p1] = [r0 * per, r1 * per];
      lane.call('maxpool2', px + p0 * H * W * 4, p1 - p0, H, W, OH, OW, pi + p0 * OH * OW * 4);
    },
  };
}

/**
 * maxPoolArgmax for 2×2 windows at stride 2 without padding, every window
 * inside the plane (not so for a last window that ceil mode adds): the same comparisons in the same order, unrolled.
 */
function maxPool2x2(
  planes: number,
  H: number,
  W: number,
  OH: number,
  OW: number,
  x: TypedArray,
  idx: TypedArray,
): void {
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let y = 0; y < OH; y++) {
      for (let t = 0; t < OW; t++, o++) {
        const at = 2 * y * W + 2 * t;
        let best = at;
        let bv = x[plane + at]!;
        let v = x[plane + at + 1]!;
        if (v > bv || (v !== v && bv === bv)) {
          best = at + 1;
          bv = v;
        }
        v = x[plane + at + W]!;
        if (v > bv || (v !== v && bv === bv)) {
          best = at + W;
          bv = v;
        }
        v = x[plane + at + W + 1]!;
        if (v > bv || (v !== v && bv === bv)) best = at + W + 1;
        idx[o] = best;
      }
    }
  }
}

// ---- gather and scatter on the threads ---------------------------------------

/**
 * f(src, s, idx, q, r0, r1, dst) over rows [r0, r1): gather,
 * dst[r, k] = src[r, idx[r, k]] (rows of s and q floats); or scatter, the
 * rows of dst (s floats) zeroed, then dst[r, idx[r, k]] += src[r, k], each
 * row's additions in order. Float32 sums as JavaScript's float32 arrays
 * round them: the same bits.
 */
function gatherFunction(scatter: boolean): Func {
  return func(
    'f',
    'iiiiiii',
    '',
    'iiiiiii',
    (src, s, idx, q, r0, r1, dst, r, ip, lin, base, rowEnd, at, sb) => {
      // Pointers stepped along, no index arithmetic per element: ip over the
      // indices, lin over the side read or written in order (gather's dst,
      // scatter's src), base at the row of the side indexed (src, dst).
      const [linear, indexed] = scatter ? [src!, dst!] : [dst!, src!];
      const body: Code[] = [
        set(sb!, i32.shl(get(s!), i32c(2))),
        set(ip!, i32.add(get(idx!), i32.shl(i32.mul(get(r0!), get(q!)), i32c(2)))),
        set(lin!, i32.add(get(linear), i32.shl(i32.mul(get(r0!), get(q!)), i32c(2)))),
        set(base!, i32.add(get(indexed), i32.mul(get(r0!), get(sb!)))),
        set(r!, get(r0!)),
      ];
      if (scatter) {
        // Zero the rows first.
        body.push(memoryFill(get(base!), i32c(0), i32.mul(i32.sub(get(r1!), get(r0!)), get(sb!))));
      }
      body.push(
        until(i32.geU(get(r!), get(r1!)), [
          set(rowEnd!, i32.add(get(ip!), i32.shl(get(q!), i32c(2)))),
          until(i32.geU(get(ip!), get(rowEnd!)), [
            set(at!, i32.add(get(base!), i32.shl(i32load(get(ip!)), i32c(2)))),
            scatter
              ? f32store(get(at!), f32.add(f32load(get(at!)), f32load(get(lin!))))
              : i32store(get(lin!), i32load(get(at!))),
            inc(ip!, 4),
            inc(lin!, 4),
          ]),
          set(base!, i32.add(get(base!), get(sb!))),
          inc(r!, 1),
        ]),
      );
      return body;
    },
  );
}

/** Gather [0] and scatter [1]: the numbers `register` gave their functions. */
const gathers = onceRegistered(() =>
  arena() ? [false, true].map((scatter) => registerFunction(gatherFunction(scatter))) : null,
);

/**
 * Gather (or scatter) in WebAssembly, on the threads (split over rows) when
 * the work is big enough, when every array is float32 (idx int32) in the
 * kernels' memory; false otherwise, for the JavaScript loop to run.
 */
function threadedGather(
  scatter: boolean,
  src: TypedArray,
  s: number,
  idx: TypedArray,
  q: number,
  rows: number,
  dst: TypedArray,
): boolean {
  // A gather reads each value through its index, often from rows that max
  // pooling, split across the threads, left in the other core's cache: it is
  // weighed 4× a loop's value, so it splits from 2^15 values (max pooling's
  // gather in the small CNN, 64×8×144: 34 µs on one thread, 22 µs on two).
  const work = rows * (scatter ? s + q : 4 * q) * IN_PLACE_WORK;
  // In the kernels' memory the WebAssembly loop is faster than JavaScript's
  // even on one thread (small work stays on this one: parallel decides).
  if (!(src instanceof Float32Array) || !(dst instanceof Float32Array)) return false;
  if (rows * q < 4096) return false; // JavaScript's loop beats the call
  if (!(idx instanceof Int32Array)) return false;
  const [ps, pi, pd] = [pointerOf(src), pointerOf(idx), pointerOf(dst)];
  if (ps < 0 || pi < 0 || pd < 0) return false;
  const id = gathers()?.[scatter ? 1 : 0];
  if (id === null || id === undefined) return false;
  parallel(work, (lane, t, parts) => {
    const [r0, r1] = share(rows, t, parts);
    if (r0 < r1) lane.call(id, ps, s, pi, q, r0, r1, pd);
  });
  return true;
}

/**
 * gatherLast (or, `scatter`, scatterAddLast) as a row-local kernel
 * (row-split.ts): `lines` rows of the last axis (gatherLast's rows) are
 * `rows` rows of the leading axis, each `lines / rows` of them; float32
 * values and int32 indices in the kernels' memory, each line as the
 * WebAssembly loop computes it (the JavaScript loop's bits).
 */
export function gatherLastRows(
  scatter: boolean,
  s: number,
  q: number,
  lines: number,
  rows: number,
): RowSplit | null {
  if (rows < 1 || lines % rows !== 0) return null;
  const per = lines / rows;
  const weight = lines * (scatter ? s + q : 4 * q) * IN_PLACE_WORK;
  const at = [0, 0, 0];
  let id: number | null | undefined;
  return {
    rows,
    align: 1,
    rowInputs: [0, 1],
    outInputs: [],
    bound: weight,
    work: (o, [x, idx]) =>
      o instanceof Float32Array &&
      x instanceof Float32Array &&
      idx instanceof Int32Array &&
      pointerOf(o) >= 0 &&
      pointerOf(x!) >= 0 &&
      pointerOf(idx) >= 0
        ? weight
        : 0,
    prepare(o, [x, idx], from) {
      id = gathers()?.[scatter ? 1 : 0];
      if (id === null || id === undefined) return -1;
      at[0] = pointerOf(x!);
      at[1] = pointerOf(idx!);
      at[2] = pointerOf(o);
      return from;
    },
    part(lane, r0, r1) {
      lane.call(id!, at[0]!, s, at[1]!, q, r0 * per, r1 * per, at[2]!);
    },
  };
}

/** out[r, q] = x[r, idx[r, q]] for `rows` rows: x rows of `s` entries, idx and out rows of `q`. */
export function gatherLast(
  x: TypedArray,
  s: number,
  idx: TypedArray,
  q: number,
  rows: number,
  out: TypedArray,
): void {
  if (threadedGather(false, x, s, idx, q, rows, out)) return;
  for (let r = 0; r < rows; r++) {
    const base = r * s;
    for (let k = r * q, end = k + q; k < end; k++) out[k] = x[base + idx[k]!]!;
  }
}

/** The adjoint of gatherLast: out (rows of `s`) = 0, then out[r, idx[r, k]] += g[r, k]. */
export function scatterAddLast(
  g: TypedArray,
  q: number,
  idx: TypedArray,
  s: number,
  rows: number,
  out: TypedArray,
): void {
  if (threadedGather(true, g, s, idx, q, rows, out)) return;
  out.fill(0);
  for (let r = 0; r < rows; r++) {
    const base = r * s;
    for (let k = r * q, end = k + q; k < end; k++) out[base + idx[k]!]! += g[k]!;
  }
}

/**
 * Averaging windows along one axis: output i averages inputs [start[i], end[i])
 * and divides by divisor[i] (the divisor of a 2-D window is the product of its
 * two axes' divisors).
 */
export interface Windows {
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly divisor: Float64Array;
}

/** out[p, y, t] = Σ x[p, rows(y), cols(t)] / (rows.divisor[y]·cols.divisor[t]). */
export function avgPool(
  x: TypedArray,
  planes: number,
  H: number,
  W: number,
  rows: Windows,
  cols: Windows,
  out: TypedArray,
): void {
  const OH = rows.start.length;
  const OW = cols.start.length;
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let y = 0; y < OH; y++) {
      const h0 = rows.start[y]!;
      const h1 = rows.end[y]!;
      const dy = rows.divisor[y]!;
      for (let t = 0; t < OW; t++, o++) {
        const w0 = cols.start[t]!;
        const w1 = cols.end[t]!;
        let s = 0;
        for (let ih = h0; ih < h1; ih++) {
          const row = plane + ih * W;
          for (let iw = w0; iw < w1; iw++) s += x[row + iw]!;
        }
        out[o] = s / (dy * cols.divisor[t]!);
      }
    }
  }
}

/** The adjoint of avgPool: each g[p, y, t] / divisor is added over its window of out (zeroed first). */
export function avgPoolAdjoint(
  g: TypedArray,
  planes: number,
  H: number,
  W: number,
  rows: Windows,
  cols: Windows,
  out: TypedArray,
): void {
  const OH = rows.start.length;
  const OW = cols.start.length;
  out.fill(0);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const plane = p * H * W;
    for (let y = 0; y < OH; y++) {
      const h0 = rows.start[y]!;
      const h1 = rows.end[y]!;
      const dy = rows.divisor[y]!;
      for (let t = 0; t < OW; t++, o++) {
        const w0 = cols.start[t]!;
        const w1 = cols.end[t]!;
        const v = g[o]! / (dy * cols.divisor[t]!);
        for (let ih = h0; ih < h1; ih++) {
          const row = plane + ih * W;
          for (let iw = w0; iw < w1; iw++) out[row + iw]! += v;
        }
      }
    }
  }
}
