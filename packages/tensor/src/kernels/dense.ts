import { type Arena, arena, instantiate, memoryShared, pointerOf } from './memory.js';
import { relaxedSimd } from './relaxed.js';
import { parallel, share } from './threads.js';
import { denseBinary } from './wasm/dense.js';

/**
 * The dense WebAssembly SIMD GEMM (wasm/dense.ts): every product taken, a
 * 4×8 tile of C in registers, operands packed into panels in the module's
 * memory first. It is for products whose operands are mostly non-zero (a
 * convolution's columns, activations after the first layer), where skipping
 * zeros buys nothing and register blocking is what counts.
 *
 * Each C[i,j] is summed in float32 over each block of KC = 256 values of k,
 * p in order from zero, and the blocks' sums are added in order (ONNX
 * Runtime's order: a 784-input layer agrees with it bit for bit where
 * neither fuses multiply-adds, and sums ~3 times shorter chains than one run
 * over k), whatever the shapes, threads or operand layout: results are
 * deterministic, and a NaN or ±∞ anywhere in a row or column reaches the
 * outputs it should.
 */
export interface DenseKernels {
  /** Packs rows×cols (element (r, c) at src + r·srow + c·scol, in bytes) into panels of 4 rows. */
  pack_a(src: number, rows: number, cols: number, srow: number, scol: number, dst: number): void;
  /** The same into panels of 8 rows (B's columns). */
  pack_b(src: number, rows: number, cols: number, srow: number, scol: number, dst: number): void;
  /**
   * C[4·mp × 8·np] (+)= A·B over kc steps; panels sa/sb bytes apart, astep/bstep
   * bytes from one step of k to the next; C row-major with ldc floats a row.
   */
  tiles(
    mp: number,
    np: number,
    kc: number,
    pa: number,
    sa: number,
    astep: number,
    pb: number,
    sb: number,
    bstep: number,
    c: number,
    ldc: number,
    acc: number,
  ): void;
  /** One image's convolution with unit column stride, as an implicit GEMM (see wasm/dense.ts). */
  conv_rows(
    mp: number,
    pa: number,
    sa: number,
    K: number,
    offs: number,
    img: number,
    rows: number,
    rowstep: number,
    rp: number,
    c: number,
    ldc: number,
  ): void;
  /** One image's contribution to a convolution's weight gradient, transposed (see wasm/dense.ts). */
  conv_grad(
    K: number,
    offs: number,
    np: number,
    pu: number,
    ub: number,
    img: number,
    oh: number,
    ow: number,
    rowstep: number,
    colstep: number,
    c: number,
    ldc: number,
    acc: number,
  ): void;
  /** One image's transposed convolution, its col2im fused into the GEMM (see wasm/dense.ts). */
  conv_scatter(
    tp: number,
    K: number,
    pa: number,
    sa: number,
    offs: number,
    u: number,
    og: number,
    oh: number,
    ow: number,
    img: number,
    rowstep: number,
  ): void;
  /** Arg-max of 2×2 windows at stride 2 (see wasm/dense.ts): int32 indices within each plane. */
  maxpool2(
    src: number,
    planes: number,
    h: number,
    w: number,
    oh: number,
    ow: number,
    dst: number,
  ): void;
  /** The inverse of pad. */
  crop(
    src: number,
    planes: number,
    hp: number,
    wp: number,
    dst: number,
    h: number,
    w: number,
    top: number,
    left: number,
  ): void;
  /** Zero-padded copy of planes h×w into planes hp×wp at (top, left). */
  pad(
    src: number,
    planes: number,
    h: number,
    w: number,
    dst: number,
    hp: number,
    wp: number,
    top: number,
    left: number,
  ): void;
  /** Copies rows of `cols` floats out of rows `wide` floats apart into consecutive rows. */
  compact(src: number, rows: number, cols: number, wide: number, dst: number): void;
}

/** Rows of A and columns of B in one register tile of `tiles`. */
export const MR = 4;
export const NR = 8;
/**
 * Steps of k per pass over the tiles: a panel of B (8·KC floats) stays in L1.
 * Also the block of k each output's sum restarts from zero at: part of the result.
 */
const KC = 256;
/** Rows of A per pass: a block of packed A (MC·KC floats) stays in L2. */
const MC = 256;

// Not named `module`: the CommonJS build wraps this file in a function whose parameter has that name.
let wasmModule: WebAssembly.Module | null | undefined;

/** The compiled dense module (worker threads instantiate it too), or null without WebAssembly SIMD. */
export function denseModule(): WebAssembly.Module | null {
  if (wasmModule === undefined) {
    try {
      wasmModule = arena() && new WebAssembly.Module(denseBinary(memoryShared(), relaxedSimd()));
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

/** The dense kernels over the kernels' one memory (memory.ts), and that memory's arena. */
export class Heap {
  constructor(
    readonly kernels: DenseKernels,
    readonly arena: Arena,
  ) {}
  /**
   * Makes room for `floats` floats from byte 0 (an end offset: regions are
   * laid out from `arena.start`); a view of the whole arena.
   */
  reserve(floats: number): Float32Array {
    return this.arena.reserve(floats);
  }
}

/**
 * C = op(A)·op(B) with packed operands already in memory at byte offsets pa
 * (4-row panels of op(A), k-major) and pb (8-column panels of op(B)), into
 * C at byte offset pc with ldc floats a row: blocked over k and m, every
 * output the sum in order of its blocks' sums (each block of k summed in
 * order from zero). `accumulate` adds the whole product to C as one more block.
 */
export function packedProduct(
  w: DenseKernels,
  m: number,
  n: number,
  k: number,
  pa: number,
  pb: number,
  pc: number,
  ldc: number,
  accumulate = false,
): void {
  const mp = Math.ceil(m / MR);
  const np = Math.ceil(n / NR);
  const sa = MR * k * 4;
  const sb = NR * k * 4;
  if (k === 0) {
    if (!accumulate) w.tiles(mp, np, 0, pa, sa, MR * 4, pb, sb, NR * 4, pc, ldc, 0);
    return;
  }
  // Parts take runs of column panels (of row panels when those are more):
  // every C[i, j] is still the same pass over the same k blocks in order.
  const byCols = np >= mp;
  parallel(m * n * k, (lane, t, parts) => {
    const [j0, j1] = byCols ? share(np, t, parts) : [0, np];
    const [r0, r1] = byCols ? [0, mp] : share(mp, t, parts);
    if (j0 === j1 || r0 === r1) return;
    for (let k0 = 0; k0 < k; k0 += KC) {
      const kc = Math.min(KC, k - k0);
      const acc = accumulate || k0 > 0 ? 1 : 0;
      for (let i0 = r0; i0 < r1; i0 += MC / MR) {
        const rows = Math.min(MC / MR, r1 - i0);
        lane.call(
          'tiles',
          rows,
          j1 - j0,
          kc,
          pa + i0 * sa + k0 * MR * 4,
          sa,
          MR * 4,
          pb + j0 * sb + k0 * NR * 4,
          sb,
          NR * 4,
          pc + (i0 * MR * ldc + j0 * NR) * 4,
          ldc,
          acc,
        );
      }
    }
  });
}

let shared: Heap | null | undefined;

/** The instance every dense kernel shares: kernels run one at a time, each laying out its regions from the arena's scratch start. */
export function heap(): Heap | null {
  if (shared === undefined) {
    const module = denseModule();
    shared = module && new Heap(instantiate(module).exports as unknown as DenseKernels, arena()!);
  }
  return shared;
}

let enabled = true;

/** Whether the dense kernels can run here (and are not switched off to compare against). */
export function denseAvailable(): boolean {
  return enabled && heap() !== null;
}

/** Switches the dense path off (or on again): benchmarks and tests compare it with the others. */
export function setDenseEnabled(on: boolean): void {
  enabled = on;
}

/**
 * C[m×n] = op(A)·op(B) for float32 operands anywhere in JS memory: both are
 * copied into the module's memory (unless they are in it already: pinned),
 * packed, multiplied and the result copied out. Callers check
 * `denseAvailable()` first.
 */
export function packedGemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  A: Float32Array,
  a: number,
  B: Float32Array,
  b: number,
  C: Float32Array,
  c: number,
): void {
  const h = heap()!;
  const w = h.kernels;
  const m4 = Math.ceil(m / MR) * MR;
  const n8 = Math.ceil(n / NR) * NR;
  const oa = h.arena.start;
  const ob = oa + m * k;
  const pa = ob + k * n;
  const pb = pa + m4 * k;
  const pc = pb + n8 * k;
  const f = h.reserve(pc + m4 * n8);
  // Each operand where it is, in bytes: in place when pinned, else copied in.
  let sa = pointerOf(A);
  let sb = pointerOf(B);
  if (sa < 0) {
    f.set(A.subarray(a, a + m * k), oa);
    sa = oa * 4;
  } else sa += a * 4;
  if (sb < 0) {
    f.set(B.subarray(b, b + k * n), ob);
    sb = ob * 4;
  } else sb += b * 4;
  // Element (i, p) of op(A) and (j, p) of op(B), as byte strides.
  if (transA) w.pack_a(sa, m, k, 4, m * 4, pa * 4);
  else w.pack_a(sa, m, k, k * 4, 4, pa * 4);
  if (transB) w.pack_b(sb, n, k, k * 4, 4, pb * 4);
  else w.pack_b(sb, n, k, 4, n * 4, pb * 4);
  packedProduct(w, m, n, k, pa * 4, pb * 4, pc * 4, n8);
  if (n8 === n) C.set(f.subarray(pc, pc + m * n), c);
  else for (let i = 0; i < m; i++) C.set(f.subarray(pc + i * n8, pc + i * n8 + n), c + i * n);
}
