import type { TypedArray } from '../dtype.js';
import { gemm } from './gemm.js';
import { wasmConvForward, wasmConvTranspose, wasmConvWeight } from './wasm-conv.js';

/**
 * Convolution kernels, lowered onto the GEMM through im2col/col2im.
 *
 * All three are described by one geometry, that of the convolution
 * y = conv(x, w): x [N, C, H, W], w [O, C/groups, kH, kW], y [N, O, OH, OW].
 * - `convForward` computes y from x and w;
 * - `convTranspose` computes the adjoint in x: an x-shaped result from a
 *   y-shaped input and w (a transposed convolution, and conv's input gradient);
 * - `convWeight` computes a w-shaped result from x and a y-shaped input
 *   (conv's weight gradient).
 * Reads outside the input are zeros and writes outside the result are
 * dropped, so any padding, stride, dilation and result size can be described.
 *
 * Float32 geometries the WebAssembly kernels cover (wasm-conv.ts: implicit
 * GEMMs, no columns unfolded) run there; the rest, and float64, lower onto the
 * GEMM here. Each factory allocates its scratch (the im2col columns) once and
 * returns a closure that allocates nothing: `compile` specialises a kernel
 * once and replays it every step.
 */
export interface ConvGeometry {
  /** Batch. */
  readonly n: number;
  /** Channels, height and width of x. */
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Channels, height and width of y. */
  readonly o: number;
  readonly oh: number;
  readonly ow: number;
  /** Kernel height and width. */
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  /** Padding before the first row and column of x (the far side follows from the sizes). */
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly groups: number;
}

/** A kernel over two input buffers writing one result buffer. */
export type ConvKernel = (out: TypedArray, a: TypedArray, b: TypedArray) => void;

/** Makes scratch of the result's precision. */
type Alloc = (size: number) => TypedArray;

/** Whether results are float32 (the WebAssembly kernels' precision): what `alloc` makes tells. */
const float32 = (alloc: Alloc) => alloc(0) instanceof Float32Array;

/** The first output column t whose input column t·sW + off is ≥ 0. */
function firstInside(off: number, sw: number, OW: number): number {
  return off >= 0 ? 0 : Math.min(OW, Math.ceil(-off / sw));
}

/** One past the last output column t (from `lo`) whose input column t·sW + off is < W. */
function endInside(off: number, sw: number, OW: number, W: number, lo: number): number {
  return Math.max(lo, W - 1 - off < 0 ? 0 : Math.min(OW, Math.floor((W - 1 - off) / sw) + 1));
}

/**
 * Unfolds the patches of one group of one image into columns:
 * cols[(c·kH + i)·kW + j, oh·OW + ow] = x[c, oh·sH − pH + i·dH, ow·sW − pW + j·dW]
 * (0 outside x), for `c` channels starting at element `xo` of `x`.
 */
export function im2col(
  g: ConvGeometry,
  channels: number,
  x: TypedArray,
  xo: number,
  cols: TypedArray,
): void {
  const { h: H, w: W, oh: OH, ow: OW, kh, kw, sh, sw, ph, pw, dh, dw } = g;
  const P = OH * OW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xo + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const off = j * dw - pw;
        const lo = firstInside(off, sw, OW);
        const hi = endInside(off, sw, OW, W, lo);
        const base = row * P;
        for (let y = 0; y < OH; y++) {
          const ih = y * sh - ph + i * dh;
          const dst = base + y * OW;
          if (ih < 0 || ih >= H) {
            for (let t = 0; t < OW; t++) cols[dst + t] = 0;
            continue;
          }
          const src = plane + ih * W + off;
          for (let t = 0; t < lo; t++) cols[dst + t] = 0;
          if (sw === 1) for (let t = lo; t < hi; t++) cols[dst + t] = x[src + t]!;
          else for (let t = lo; t < hi; t++) cols[dst + t] = x[src + t * sw]!;
          for (let t = hi; t < OW; t++) cols[dst + t] = 0;
        }
      }
    }
  }
}

/**
 * The adjoint of `im2col`: adds each column entry back into the x position it
 * was read from (entries that came from the padding are dropped).
 */
export function col2im(
  g: ConvGeometry,
  channels: number,
  cols: TypedArray,
  x: TypedArray,
  xo: number,
): void {
  const { h: H, w: W, oh: OH, ow: OW, kh, kw, sh, sw, ph, pw, dh, dw } = g;
  const P = OH * OW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const plane = xo + c * H * W;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++, row++) {
        const off = j * dw - pw;
        const lo = firstInside(off, sw, OW);
        const hi = endInside(off, sw, OW, W, lo);
        const base = row * P;
        for (let y = 0; y < OH; y++) {
          const ih = y * sh - ph + i * dh;
          if (ih < 0 || ih >= H) continue;
          const src = base + y * OW;
          const dst = plane + ih * W + off;
          if (sw === 1) for (let t = lo; t < hi; t++) x[dst + t]! += cols[src + t]!;
          else for (let t = lo; t < hi; t++) x[dst + t * sw]! += cols[src + t]!;
        }
      }
    }
  }
}

/** y = conv(x, w): per image and group, W_g[O/g × C/g·kH·kW] · cols[C/g·kH·kW × OH·OW]. */
export function convForward(g: ConvGeometry, alloc: Alloc): ConvKernel {
  const fast = float32(alloc) && wasmConvForward(g);
  if (fast) return fast as ConvKernel;
  const { n: N, c: C, h: H, w: W, o: O, groups } = g;
  const cg = C / groups;
  const og = O / groups;
  const K = cg * g.kh * g.kw;
  const P = g.oh * g.ow;
  const cols = alloc(K * P);
  return (y, x, w) => {
    for (let b = 0; b < N; b++) {
      for (let q = 0; q < groups; q++) {
        im2col(g, cg, x, (b * C + q * cg) * H * W, cols);
        gemm(false, false, og, P, K, w, q * og * K, cols, 0, y, (b * O + q * og) * P);
      }
    }
  };
}

/**
 * The x-shaped adjoint of conv in x, from a y-shaped input u:
 * per image and group, cols = W_gᵀ · u_g, folded back by col2im.
 */
export function convTranspose(g: ConvGeometry, alloc: Alloc): ConvKernel {
  const fast = float32(alloc) && wasmConvTranspose(g);
  if (fast) return fast as ConvKernel;
  const { n: N, c: C, h: H, w: W, o: O, groups } = g;
  const cg = C / groups;
  const og = O / groups;
  const K = cg * g.kh * g.kw;
  const P = g.oh * g.ow;
  const cols = alloc(K * P);
  return (x, u, w) => {
    x.fill(0);
    for (let b = 0; b < N; b++) {
      for (let q = 0; q < groups; q++) {
        gemm(true, false, K, P, og, w, q * og * K, u, (b * O + q * og) * P, cols, 0);
        col2im(g, cg, cols, x, (b * C + q * cg) * H * W);
      }
    }
  };
}

/**
 * The w-shaped gradient of conv in w, from x and a y-shaped input u:
 * Σ over images of u_g[O/g × OH·OW] · cols_gᵀ. One product per image keeps
 * the columns one image large; summing the images' products costs O·K per
 * image, next to the product's O·K·OH·OW.
 */
export function convWeight(g: ConvGeometry, alloc: Alloc): ConvKernel {
  const fast = float32(alloc) && wasmConvWeight(g);
  if (fast) return fast as ConvKernel;
  const { n: N, c: C, h: H, w: W, o: O, groups } = g;
  const cg = C / groups;
  const og = O / groups;
  const K = cg * g.kh * g.kw;
  const P = g.oh * g.ow;
  const cols = alloc(K * P);
  const part = alloc(og * K);
  return (dw, x, u) => {
    dw.fill(0);
    for (let b = 0; b < N; b++) {
      for (let q = 0; q < groups; q++) {
        im2col(g, cg, x, (b * C + q * cg) * H * W, cols);
        gemm(false, true, og, K, P, u, (b * O + q * og) * P, cols, 0, part, 0);
        const at = q * og * K;
        for (let t = 0; t < og * K; t++) dw[at + t]! += part[t]!;
      }
    }
  };
}
