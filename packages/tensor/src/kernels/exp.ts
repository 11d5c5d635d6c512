import { arena, instantiate, memoryShared, pointerOf } from './memory.js';
import {
  type Code,
  f32load,
  f32store,
  f64,
  f64c,
  f64load,
  f64store,
  f64x2,
  f64x2c,
  func,
  get,
  i32,
  i32c,
  i32x4,
  i32x4c,
  i64x2,
  iff,
  inc,
  load64Zero,
  select,
  set,
  until,
  v128,
  v128c,
  v128load,
  v128store,
  wasmModule,
} from './wasm/emit.js';

/**
 * Math.exp of float64 values, two at a time in WebAssembly, with the bits
 * Math.exp gives. V8's Math.exp is fdlibm's `__ieee754_exp` (src/base/ieee754.cc),
 * computed in float64 with no fused multiply-add; the same operations in the
 * same order in f64x2 lanes round the same way, since IEEE arithmetic is exact
 * per operation. The branches of that code become selects between lanes.
 * Only |x| ≤ 707 is handled here (no overflow, no subnormal result, no NaN):
 * the row kernel below checks that and hands other rows back to Math.exp.
 * (Engines whose Math.exp is not fdlibm's, JavaScriptCore's, get fdlibm's
 * bits from the kernel: still the same in eager and compiled runs.)
 * Softmax rows are what this is for: 1,280 calls of Math.exp per training
 * step of the MNIST MLP, in two passes of JavaScript, were an eighth of it.
 */

const bits = (hi: number): number => {
  const v = new DataView(new ArrayBuffer(8));
  v.setUint32(0, hi);
  return v.getFloat64(0);
};
/** |x| > ½ ln 2 in fdlibm's test of the high word (hx > 0x3FD62E42). */
const HALF_LN2 = bits(0x3fd62e43);
/** |x| < 1.5 ln 2 (hx < 0x3FF0A2B2). */
const THREE_HALVES_LN2 = bits(0x3ff0a2b2);
const LN2_HI = 0.6931471803691238;
const LN2_LO = 1.9082149292705877e-10;
// fdlibm's invln2 (0x3FF71547652B82FE) is log2(e).
const INV_LN2 = Math.LOG2E;
const P1 = 0.16666666666666602;
const P2 = -0.0027777777777015593;
const P3 = 0.00006613756321437934;
const P4 = -0.0000016533902205465252;
const P5 = 4.1381367970572385e-8;

/** The largest |x| the kernel is given: 2^k stays a normal number, exp(x) finite and normal. */
export const EXP_RANGE = 707;

/** 2^52 + 2^51 + 1023: t plus this holds k + 1023 in its low bits, for an integer t. */
const BIAS = 6755399441055744 + 1023;

/**
 * exp of the vector at byte `at + offset`, in place, through the 11 locals
 * `l`. fdlibm's k = (int)(invln2·x ± ½) is `t` here, as a float: ±1 when
 * ½ ln 2 < |x| < 1.5 ln 2, and 0 at or below ½ ln 2, where x is not reduced.
 */
function expVector(at: number, offset: number, l: readonly number[]): Code {
  const [x, ax, neg, t, hi, lo, r, tt, c, q, small] = l as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const poly = [P4, P3, P2].reduce<Code>(
    (acc, p) => f64x2.add(f64x2c(p), f64x2.mul(tt, acc)),
    f64x2c(P5),
  );
  return [
    set(x, v128load(get(at), offset)),
    set(ax, f64x2.abs(x)),
    set(neg, f64x2.lt(x, f64x2c(0))),
    set(
      t,
      f64x2.trunc(
        f64x2.add(f64x2.mul(f64x2c(INV_LN2), x), v128.bitselect(f64x2c(-0.5), f64x2c(0.5), neg)),
      ),
    ),
    set(
      t,
      v128.bitselect(
        v128.bitselect(f64x2c(-1), f64x2c(1), neg),
        t,
        f64x2.lt(ax, f64x2c(THREE_HALVES_LN2)),
      ),
    ),
    set(small, f64x2.lt(ax, f64x2c(HALF_LN2))),
    set(t, v128.andnot(t, small)),
    set(hi, f64x2.sub(x, f64x2.mul(t, f64x2c(LN2_HI)))),
    set(lo, f64x2.mul(t, f64x2c(LN2_LO))),
    set(r, f64x2.sub(hi, lo)),
    set(tt, f64x2.mul(r, r)),
    set(c, f64x2.sub(r, f64x2.mul(tt, f64x2.add(f64x2c(P1), f64x2.mul(tt, poly))))),
    // (x·c)/(c − 2); fdlibm divides by 2 − c where k ≠ 0, which is −q exactly.
    set(q, f64x2.div(f64x2.mul(r, c), f64x2.sub(c, f64x2c(2)))),
    // k = 0: 1 − (q − x); else (1 − ((lo + q) − hi))·2^k, 2^k as (k + 1023) << 52.
    set(
      q,
      v128.bitselect(
        f64x2.sub(f64x2c(1), f64x2.sub(q, r)),
        f64x2.mul(
          f64x2.sub(f64x2c(1), f64x2.sub(f64x2.add(lo, q), hi)),
          i64x2.shl(f64x2.add(t, f64x2c(BIAS)), i32c(52)),
        ),
        small,
      ),
    ),
    // |x| < 2^-28: 1 + x; and exp(1) is E, which the formula misses by a bit.
    set(q, v128.bitselect(f64x2.add(f64x2c(1), x), q, f64x2.lt(ax, f64x2c(2 ** -28)))),
    set(q, v128.bitselect(f64x2c(Math.E), q, f64x2.eq(x, f64x2c(1)))),
    v128store(get(at), get(q), offset),
  ];
}

/**
 * f(at, end): exp in place of the float64 values from byte `at` to `end`,
 * four at a time (two vectors, so that one's chain of dependent steps
 * overlaps the other's).
 */
const expFunction = func('exp', 'ii', '', 'v'.repeat(22), (at, end, ...l) => [
  until(i32.geU(get(at!), get(end!)), [
    expVector(at!, 0, l.slice(0, 11)),
    expVector(at!, 16, l.slice(11)),
    inc(at!, 32),
  ]),
]);

/**
 * f(src, rows, n, d, shifts): for each row of n float32 values from `src`,
 * its `rowShift` m (the largest value, NaN if it holds one, 0 where that is
 * infinite) into `shifts`, and x − m in float64 into `d`, two values at a
 * time. A row with some x − m outside ±EXP_RANGE (or NaN) gets NaN as its
 * shift: the caller runs that row with Math.exp.
 */
const shiftFunction = func(
  'shift',
  'iiiii',
  '',
  'iiiddvvv',
  (src, rows, n, d, shifts, r, k, pairs, m, v, mv, x2, ok) => [
    until(i32.geU(get(r!), get(rows!)), [
      set(m!, f64c(Number.NEGATIVE_INFINITY)),
      set(k!, i32c(0)),
      until(i32.geU(get(k!), get(n!)), [
        set(v!, f64.promoteF32(f32load(i32.add(get(src!), i32.shl(get(k!), i32c(2)))))),
        set(m!, select(v!, m!, i32.or(f64.gt(v!, m!), f64.ne(v!, v!)))),
        inc(k!, 1),
      ]),
      set(
        m!,
        select(
          f64c(0),
          m!,
          i32.or(
            f64.eq(m!, f64c(Number.NEGATIVE_INFINITY)),
            f64.eq(m!, f64c(Number.POSITIVE_INFINITY)),
          ),
        ),
      ),
      set(mv!, f64x2.splat(get(m!))),
      set(ok!, i32x4c(-1, -1, -1, -1)),
      set(pairs!, i32.add(get(src!), i32.shl(i32.and(get(n!), i32c(-2)), i32c(2)))),
      until(i32.geU(get(src!), get(pairs!)), [
        set(x2!, f64x2.sub(f64x2.promoteLowF32x4(load64Zero(get(src!))), mv!)),
        v128store(get(d!), get(x2!)),
        set(
          ok!,
          v128.and(
            ok!,
            v128.and(f64x2.ge(x2!, f64x2c(-EXP_RANGE)), f64x2.ge(f64x2c(EXP_RANGE), x2!)),
          ),
        ),
        inc(src!, 8),
        inc(d!, 16),
      ]),
      // A last odd value on its own.
      iff(i32.and(get(n!), i32c(1)), [
        set(v!, f64.sub(f64.promoteF32(f32load(get(src!))), m!)),
        f64store(get(d!), get(v!)),
        iff(i32.eqz(i32.and(f64.ge(v!, f64c(-EXP_RANGE)), f64.le(v!, f64c(EXP_RANGE)))), [
          set(ok!, v128c()),
        ]),
        inc(src!, 4),
        inc(d!, 8),
      ]),
      f64store(get(shifts!), select(get(m!), f64c(Number.NaN), i32x4.allTrue(ok!))),
      inc(shifts!, 8),
      inc(r!, 1),
    ]),
  ],
);

/**
 * f(e, rows, n, sums, dst, write): each row's sum of its n exponentials
 * from `e`, added in order, into `sums`; with `write`, each e / sum rounded
 * to float32 into `dst`, as a Float32Array stores it.
 */
const sumFunction = func('sum', 'iiiiii', '', 'iid', (e, rows, n, sums, dst, write, r, k, s) => [
  until(i32.geU(get(r!), get(rows!)), [
    set(s!, f64c(0)),
    set(k!, i32c(0)),
    until(i32.geU(get(k!), get(n!)), [
      set(s!, f64.add(s!, f64load(i32.add(get(e!), i32.shl(get(k!), i32c(3)))))),
      inc(k!, 1),
    ]),
    f64store(get(sums!), get(s!)),
    inc(sums!, 8),
    iff(get(write!), [
      set(k!, i32c(0)),
      until(i32.geU(get(k!), get(n!)), [
        f32store(
          i32.add(get(dst!), i32.shl(get(k!), i32c(2))),
          f64.demoteToF32(f64.div(f64load(i32.add(get(e!), i32.shl(get(k!), i32c(3)))), s!)),
        ),
        inc(k!, 1),
      ]),
      set(dst!, i32.add(get(dst!), i32.shl(get(n!), i32c(2)))),
    ]),
    set(e!, i32.add(get(e!), i32.shl(get(n!), i32c(3)))),
    inc(r!, 1),
  ]),
]);

interface ExpKernels {
  exp(at: number, end: number): void;
  shift(src: number, rows: number, n: number, d: number, shifts: number): void;
  sum(e: number, rows: number, n: number, sums: number, dst: number, write: number): void;
}

let kernels: ExpKernels | null | undefined;

function expKernels(): ExpKernels | null {
  if (kernels !== undefined) return kernels;
  kernels = null;
  if (!arena()) return kernels;
  try {
    const binary = wasmModule([expFunction, shiftFunction, sumFunction], memoryShared());
    kernels = instantiate(new WebAssembly.Module(binary)).exports as unknown as ExpKernels;
  } catch {}
  return kernels;
}

let f64view: Float64Array | null = null;

/**
 * The shared part of softmax, logSoftmax and cross-entropy over `rows`
 * contiguous rows of n float32 values in `a`, in WebAssembly: each row's
 * shift m (`rowShift`) and Σ exp(x − m) summed in order, with Math.exp's
 * bits; with `o`, softmax itself (each exp / sum) written there. Returns
 * [m of each row, then the sum of each row] as a view valid until the next
 * kernel runs, or null without WebAssembly SIMD (or room for it). A row
 * whose m is NaN was not done (a NaN, ±∞ or a spread over EXP_RANGE): the
 * caller runs it as before, Math.exp and all.
 */
export function expRows(
  a: Float32Array,
  rows: number,
  n: number,
  o: Float32Array | null,
): Float64Array | null {
  const k = expKernels();
  if (!k) return null;
  const count = rows * n;
  const arenaNow = arena()!;
  // Byte offsets from the scratch start (16-aligned): x − m (room for the last group of four), m, sums, then copies.
  const dAt = Math.ceil(arenaNow.start / 4) * 16;
  const shiftsAt = dAt + Math.ceil(count / 4) * 32;
  const sumsAt = shiftsAt + rows * 8;
  let srcAt = sumsAt + rows * 8;
  let dstAt = srcAt + (pointerOf(a) < 0 ? count * 4 : 0);
  const end = dstAt + (o && pointerOf(o) < 0 ? count * 4 : 0);
  let memory: Float32Array;
  try {
    memory = arenaNow.reserve(end / 4);
  } catch {
    return null; // the memory is full: Math.exp serves
  }
  if (pointerOf(a) >= 0) srcAt = pointerOf(a);
  else memory.set(a.length === count ? a : a.subarray(0, count), srcAt / 4);
  if (o && pointerOf(o) >= 0) dstAt = pointerOf(o);
  k.shift(srcAt, rows, n, dAt, shiftsAt);
  k.exp(dAt, shiftsAt);
  k.sum(dAt, rows, n, sumsAt, dstAt, o ? 1 : 0);
  if (o && pointerOf(o) < 0) o.set(memory.subarray(dstAt / 4, dstAt / 4 + count));
  if (!f64view || f64view.buffer !== memory.buffer) f64view = new Float64Array(memory.buffer);
  return f64view.subarray(shiftsAt / 8, shiftsAt / 8 + 2 * rows);
}

let view: Float64Array | null = null;

/**
 * A float64 scratch array of at least `count` values in the kernels'
 * memory, for `expInPlace`: null without WebAssembly SIMD. Valid until the
 * next kernel runs. (For tests of the exp kernel against Math.exp.)
 */
export function expScratch(count: number): Float64Array | null {
  if (!expKernels()) return null;
  const a = arena()!;
  // From the scratch start, rounded up to 16 bytes, with room for the last group of four.
  const from = Math.ceil(a.start / 4) * 4;
  let memory: Float32Array;
  try {
    memory = a.reserve(from + 2 * count + 8);
  } catch {
    return null;
  }
  if (
    !view ||
    view.buffer !== memory.buffer ||
    view.byteOffset !== from * 4 ||
    view.length < count
  ) {
    view = new Float64Array(memory.buffer, from * 4, count + 3);
  }
  return view;
}

/** Math.exp of the first `count` values of the array `expScratch` gave, in place. */
export function expInPlace(scratch: Float64Array, count: number): void {
  kernels!.exp(scratch.byteOffset, scratch.byteOffset + Math.ceil(count / 4) * 32);
}
