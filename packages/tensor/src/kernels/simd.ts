import type { TypedArray } from '../dtype.js';
import { type Arena, arena, instantiate, memoryShared, pointerOf } from './memory.js';
import { relaxedSimd } from './relaxed.js';
import type { RowSplit } from './row-split.js';
import { maxParts, parallel, share } from './threads.js';
import { gemmBinary } from './wasm/gemm.js';

/**
 * The WebAssembly SIMD path for float32 products. The module (wasm/gemm.ts)
 * is written and instantiated on first use; where WebAssembly or its SIMD
 * proposal is missing, the callers fall back to the JavaScript kernels.
 *
 * Operands are copied into the module's memory as they are (row-major, rows
 * padded to a multiple of 4) and the result copied out: for the shapes this
 * is for (a batch of images against a layer's weights, and the weight
 * gradient over that batch) the copies cost a small part of what running
 * four lanes at a time saves. An operand already in that memory (a pinned
 * array) whose rows need no padding is read where it is: a batch of 1000
 * images costs as much to copy in as to multiply.
 */
/**
 * C[m×n] = op(A)·op(B): sizes, then each operand with the offset of its
 * matrix within its buffer.
 */
export type Product<T extends TypedArray = TypedArray> = (
  m: number,
  n: number,
  k: number,
  A: T,
  a: number,
  B: T,
  b: number,
  C: T,
  c: number,
) => void;

export interface SimdGemm {
  /** C[m×n] = A[m×k] · B[k×n] */
  ab: Product<Float32Array>;
  /** C[m×n] = A[m×k] · B[n×k]ᵀ */
  nt: Product<Float32Array>;
  /** C[m×n] = A[k×m]ᵀ · B[k×n] */
  tn: Product<Float32Array>;
  /**
   * C[m×n] = A[m×k] · op(B) for n small (a layer's outputs): rows of A
   * against 16-column panels, zero values of A skipped, each output summed
   * over k in order as the dense kernel sums it. Returns false, writing
   * nothing, when B holds a NaN or ±∞ (a skipped zero would have to make NaN).
   */
  rows(transB: boolean, ...product: Parameters<Product<Float32Array>>): boolean;
  /**
   * `rows` as a row-local kernel of C[m×n] = A[m×k] · op(B) (row-split.ts):
   * the same calls for each row, blocks of rows run by any thread.
   */
  rowSplit(transB: boolean, m: number, n: number, k: number): RowSplit;
}

interface Exports {
  nt8(m: number, k: number, a: number, w: number, c: number, ldc: number): void;
  tn16(k: number, n: number, g: number, ldg: number, x: number, c: number): void;
  tn_cols(k: number, n: number, g: number, ldg: number, x: number, ct: number): void;
  tn_out(ct: number, n: number, c: number, ldc: number, acc: number): void;
  ab16(m: number, k: number, a: number, p: number, c: number): void;
  rows16(m: number, k: number, a: number, p: number, c: number, ldc: number, list: number): void;
  add(dst: number, src: number, count: number): void;
  panel16(
    b: number,
    n: number,
    k: number,
    k4: number,
    trans: number,
    j0: number,
    dst: number,
  ): number;
}

/** Columns of B in one panel of A·B. */
const PANEL = 16;
/** Outputs each call of a kernel computes: 8 for A·Bᵀ, 16 for Aᵀ·B. */
const GROUP = 8;
const GROUP_TN = 16;
/** Rows of A copied in at a time: 128 rows of an image batch are 400 KB. */
const ROWS = 128;
/** Columns of B in one panel of `rows`. */
const COLS = 16;
/** Steps of k whose sums are added up apart, then joined in order (the dense kernel's KC). */
const KC = 256;
/** Rows of Aᵀ·B's k from which tn_cols beats tn16 (MNIST images as B). */
const COLUMNS_FROM = 32;
/** Blocks of ROWS rows copied in per pass of A·Bᵀ, cut among the threads. */
const BLOCKS = 16;
let cached: SimdGemm | null | undefined;
let wasmModule: WebAssembly.Module | null | undefined;

/** The compiled zero-skipping module (worker threads instantiate it too), or null where it cannot run. */
export function gemmModule(): WebAssembly.Module | null {
  if (wasmModule === undefined) {
    try {
      wasmModule = arena() && new WebAssembly.Module(gemmBinary(memoryShared(), relaxedSimd()));
    } catch {
      wasmModule = null;
    }
  }
  return wasmModule;
}

/** The SIMD kernels, or null where this runtime cannot run them. */
export function simdGemm(): SimdGemm | null {
  if (cached !== undefined) return cached;
  try {
    const memory = arena()!;
    const instance = instantiate(gemmModule()!);
    cached = wrap(instance.exports as unknown as Exports, memory);
  } catch {
    cached = null;
  }
  return cached;
}

/** Disables (or re-enables) the SIMD path, to compare it with the fallback. */
export function setSimdEnabled(on: boolean): void {
  cached = on ? undefined : null;
}

function wrap(wasm: Exports, memory: Arena): SimdGemm {
  let heap = memory.f32;
  /** Makes room for `floats` in the arena; the regions a product uses are laid out back to back from `memory.start`. */
  const reserve = (floats: number) => {
    heap = memory.reserve(floats);
  };

  /** Copies rows×cols of X (row stride `cols`) to the heap with row stride `stride` ≥ cols, zero-padded. */
  const copyRows = (
    X: Float32Array,
    from: number,
    rows: number,
    cols: number,
    to: number,
    stride: number,
  ) => {
    if (stride === cols) {
      heap.set(X.subarray(from, from + rows * cols), to);
      return;
    }
    // Short rows (a small batch of a few activations): a loop costs less than two calls a row.
    if (cols < 64) {
      for (let r = 0; r < rows; r++) {
        const src = from + r * cols;
        const dst = to + r * stride;
        for (let j = 0; j < cols; j++) heap[dst + j] = X[src + j]!;
        for (let j = cols; j < stride; j++) heap[dst + j] = 0;
      }
      return;
    }
    for (let r = 0; r < rows; r++) {
      heap.set(X.subarray(from + r * cols, from + (r + 1) * cols), to + r * stride);
      heap.fill(0, to + r * stride + cols, to + (r + 1) * stride);
    }
  };

  return {
    ab(m, n, k, A, a, B, b, C, c) {
      const k4 = (k + 3) & ~3;
      const block = Math.min(m, ROWS);
      const op = memory.start;
      const oa = op + k4 * PANEL;
      const oc = oa + block * k4;
      reserve(oc + block * PANEL);
      for (let col = 0; col < n; col += PANEL) {
        // The panel: 16 of B's columns, each row a contiguous run of B's row.
        const width = Math.min(PANEL, n - col);
        heap.fill(0, op, op + k4 * PANEL);
        for (let p = 0; p < k; p++) {
          const from = b + p * n + col;
          const to = op + p * PANEL;
          for (let j = 0; j < width; j++) heap[to + j] = B[from + j]!;
        }
        for (let r0 = 0; r0 < m; r0 += block) {
          const rows = Math.min(block, m - r0);
          copyRows(A, a + r0 * k, rows, k, oa, k4);
          wasm.ab16(rows, k4, oa * 4, op * 4, oc * 4);
          for (let i = 0; i < rows; i++) {
            const from = oc + i * PANEL;
            const to = c + (r0 + i) * n + col;
            for (let j = 0; j < width; j++) C[to + j] = heap[from + j]!;
          }
        }
      }
    },
    nt(m, n, k, A, a, B, b, C, c) {
      // Rows are padded to a multiple of 4 (the kernels read quads) and B to a
      // multiple of 8 rows (one call computes 8 outputs). Rows of A go in by
      // blocks cut among the threads; each thread runs its rows ROWS at a time,
      // so the copy stays in cache for the kernel, and every row is the same
      // calls whichever thread takes it.
      const k4 = (k + 3) & ~3;
      const n8 = (n + GROUP - 1) & ~(GROUP - 1);
      const block = Math.min(m, ROWS * BLOCKS);
      const ow = memory.start;
      const oa = ow + n8 * k4;
      const oc = oa + block * k4;
      reserve(oc + block * n8);
      // A's rows where they are (in bytes), or −1 to copy them in.
      const pa = k4 === k ? pointerOf(A) : -1;
      copyRows(B, b, n, k, ow, k4);
      heap.fill(0, ow + n * k4, ow + n8 * k4);
      for (let r0 = 0; r0 < m; r0 += block) {
        const rows = Math.min(block, m - r0);
        parallel(rows * n * k, (lane, t, parts) => {
          const [i0, i1] = share(rows, t, parts);
          if (pa < 0) copyRows(A, a + (r0 + i0) * k, i1 - i0, k, oa + i0 * k4, k4);
          for (let s = i0; s < i1; s += ROWS) {
            const cnt = Math.min(ROWS, i1 - s);
            const from = pa < 0 ? (oa + s * k4) * 4 : pa + (a + (r0 + s) * k) * 4;
            for (let j0 = 0; j0 < n; j0 += GROUP) {
              lane.call('nt8', cnt, k4, from, (ow + j0 * k4) * 4, (oc + s * n8 + j0) * 4, n8);
            }
          }
        });
        for (let i = 0; i < rows; i++) {
          const from = oc + i * n8;
          const to = c + (r0 + i) * n;
          for (let j = 0; j < n; j++) C[to + j] = heap[from + j]!;
        }
      }
    },
    rows(transB, m, n, k, A, a, B, b, C, c) {
      // Regions: B as given, its panels, a block of A's rows, C with room for a
      // part's last row's spill after each part's rows, and each part's 16
      // totals. Parts take runs of rows; a row's sums do not depend on which.
      const k4 = (k + 3) & ~3;
      const panels = Math.ceil(n / COLS);
      const block = Math.min(m, ROWS * BLOCKS);
      const threads = maxParts();
      const ob = memory.start;
      const op = ob + n * k;
      const oa = op + panels * k4 * COLS;
      const oc = oa + block * k4;
      const ot = oc + block * n + threads * COLS;
      reserve(ot + threads * COLS);
      // Operands where they are (in bytes), or −1 to copy them in.
      const pa = k4 === k ? pointerOf(A) : -1;
      // C where it is when whole panels cover its rows (nothing spills past a row); else copied out.
      const pc = n % COLS === 0 ? pointerOf(C) : -1;
      let pb = pointerOf(B);
      if (pb < 0) {
        heap.set(B.subarray(b, b + n * k), ob);
        pb = ob * 4;
      } else pb += b * 4;
      let finite = 1;
      for (let t = 0; t < panels; t++) {
        finite &= wasm.panel16(pb, n, k, k4, transB ? 1 : 0, t * COLS, (op + t * k4 * COLS) * 4);
      }
      if (!finite) return false;
      // A row longer than 64 values skips its zeros, so the work is weighed by
      // the share of A that is not zero (a batch of MNIST images: ~20%): 64
      // images against a layer of 16 are ~10 µs of work, less than waking a
      // worker costs. Which thread runs a row changes no bit.
      const density = k > 64 ? nonzeroShare(A, a, m * k) : 1;
      for (let r0 = 0; r0 < m; r0 += block) {
        const rows = Math.min(block, m - r0);
        const done: [number, number, number][] = [];
        parallel(rows * n * k * density, (lane, t, parts) => {
          const [i0, i1] = share(rows, t, parts);
          if (i0 === i1) return;
          if (pa < 0) copyRows(A, a + (r0 + i0) * k, i1 - i0, k, oa + i0 * k4, k4);
          const ct = oc + i0 * n + t * COLS;
          for (let s = i0; s < i1; s += ROWS) {
            const count = Math.min(ROWS, i1 - s);
            const from = pa < 0 ? (oa + s * k4) * 4 : pa + (a + (r0 + s) * k) * 4;
            const to = pc < 0 ? (ct + (s - i0) * n) * 4 : pc + (c + (r0 + s) * n) * 4;
            // Right to left: a panel's spill past n lands on the next row's first
            // columns, which the panels to its left write afterwards.
            for (let q = panels - 1; q >= 0; q--) {
              const pq = (op + q * k4 * COLS) * 4;
              lane.call('rows16', count, k4, from, pq, to + q * COLS * 4, n, (ot + t * COLS) * 4);
            }
          }
          if (pc < 0) done.push([ct, i0, i1]);
        });
        for (const [ct, i0, i1] of done) {
          C.set(heap.subarray(ct, ct + (i1 - i0) * n), c + (r0 + i0) * n);
        }
      }
      return true;
    },
    rowSplit(transB, m, n, k) {
      // Regions as `rows` lays them out, from the scratch given: B's panels,
      // A's rows when they must be copied in, C with each block's spill room
      // when C's rows are not whole panels (then copied into C by `compact`),
      // and each block's 16 totals.
      const k4 = (k + 3) & ~3;
      const panels = Math.ceil(n / COLS);
      const spill = n % COLS !== 0;
      let A: Float32Array | null = null;
      let [pa, pc, op, oa, oc, ot] = [0, 0, 0, 0, 0, 0];
      return {
        rows: m,
        align: 1,
        rowInputs: [0],
        outInputs: [],
        bound: m * n * k,
        // 32 samples: this runs on every call of a chain, most of them (a
        // training step's batch of 64) to find the work too small to split.
        work: (C, [x]) =>
          pointerOf(C) < 0
            ? 0
            : m * n * k * (k > 64 ? nonzeroShare(x as Float32Array, 0, m * k, 32) : 1),
        prepare(C, [a, B], at, parts) {
          pa = k4 === k ? pointerOf(a!) : -1;
          pc = pointerOf(C);
          op = at;
          oa = op + panels * k4 * COLS;
          oc = oa + (pa < 0 ? m * k4 : 0);
          ot = oc + (spill ? m * n + parts * COLS : 0);
          const end = ot + parts * COLS;
          reserve(end);
          let pb = pointerOf(B!);
          if (pb < 0) {
            // Past the region, read once by panel16 here, before any later step lays its region out.
            reserve(end + n * k);
            heap.set(B!.subarray(0, n * k), end);
            pb = end * 4;
          }
          let finite = 1;
          for (let t = 0; t < panels; t++) {
            finite &= wasm.panel16(
              pb,
              n,
              k,
              k4,
              transB ? 1 : 0,
              t * COLS,
              (op + t * k4 * COLS) * 4,
            );
          }
          A = pa < 0 ? (a as Float32Array) : null;
          return finite ? end : -1;
        },
        part(lane, r0, r1, t) {
          if (A) {
            heap = memory.reserve(0);
            copyRows(A, r0 * k, r1 - r0, k, oa + r0 * k4, k4);
          }
          const ct = oc + r0 * n + t * COLS;
          for (let s = r0; s < r1; s += ROWS) {
            const count = Math.min(ROWS, r1 - s);
            const from = A ? (oa + s * k4) * 4 : pa + s * k * 4;
            const to = spill ? (ct + (s - r0) * n) * 4 : pc + s * n * 4;
            for (let q = panels - 1; q >= 0; q--) {
              const pq = (op + q * k4 * COLS) * 4;
              lane.call('rows16', count, k4, from, pq, to + q * COLS * 4, n, (ot + t * COLS) * 4);
            }
          }
          if (spill) lane.call('compact', ct * 4, 1, (r1 - r0) * n, 0, pc + r0 * n * 4);
        },
        finish() {
          A = null; // keeps no caller's array alive
        },
      };
    },
    tn(m, n, k, A, a, B, b, C, c) {
      const n4 = (n + 3) & ~3;
      const m16 = (m + GROUP_TN - 1) & ~(GROUP_TN - 1);
      // tn_cols skips each zero of B, where tn16 skips only quads of zeros,
      // but its sums (a row of 16 per column of B) are transposed into C
      // after: that pays for a wide B over enough rows (16×64 · 64×784 of
      // MNIST images: 0.78× in Node 20, 0.87× in Node 24; 32 rows: 0.85×,
      // 0.96×; 20 rows: 0.95×, 1.07×; a hidden layer's 64×16: 0.97×, 1.07×).
      const byColumns = k >= COLUMNS_FROM && n >= 64;
      // A's rows are read 16 columns at a time: the last group may read past a
      // row into the next one, into sums of rows that are never copied out.
      // Blocks of KC steps of k are summed apart (a later one into scratch at
      // ot) and added in order, as the dense kernel sums.
      const ob = memory.start;
      const og = ob + k * n4;
      const oc = og + k * m + GROUP_TN;
      const ot = oc + m16 * n4;
      reserve(ot + (byColumns ? n4 * GROUP_TN : k > KC ? m16 * n4 : 0));
      // B where it is (in bytes) when its rows need no padding, else copied in;
      // C likewise when its rows need none and whole groups of 16 cover them.
      const at = n4 === n ? pointerOf(B) : -1;
      const pb = at < 0 ? ob * 4 : at + b * 4;
      const direct = n4 === n && m16 === m ? pointerOf(C) : -1;
      const pc = direct < 0 ? oc * 4 : direct + c * 4;
      if (at < 0) copyRows(B, b, k, n, ob, n4);
      heap.set(A.subarray(a, a + k * m), og);
      for (let k0 = 0; k0 < k || k0 === 0; k0 += KC) {
        const kc = Math.min(KC, k - k0);
        const to = k0 === 0 ? pc : ot * 4;
        for (let j0 = 0; j0 < m; j0 += GROUP_TN) {
          const g = (og + k0 * m + j0) * 4;
          if (byColumns) {
            wasm.tn_cols(kc, n4, g, m, pb + k0 * n4 * 4, ot * 4);
            wasm.tn_out(ot * 4, n4, pc + j0 * n4 * 4, n4, k0 > 0 ? 1 : 0);
          } else wasm.tn16(kc, n4, g, m, pb + k0 * n4 * 4, to + j0 * n4 * 4);
        }
        if (k0 > 0 && !byColumns) wasm.add(pc, ot * 4, m16 * n4);
      }
      if (direct >= 0) return;
      if (n4 === n) C.set(heap.subarray(oc, oc + m * n), c);
      else
        for (let j = 0; j < m; j++) C.set(heap.subarray(oc + j * n4, oc + j * n4 + n), c + j * n);
    },
  };
}

/**
 * The share of X[at, at + n) that is not zero, from a fixed sample of at
 * most `samples` values spread over it (at least 1/16: the zeros are read
 * too). Fewer than 256 are taken an odd stride apart, so that they do not
 * all fall in one column of rows of an even length (images).
 */
function nonzeroShare(X: Float32Array, at: number, n: number, samples = 256): number {
  const step = Math.max(1, Math.floor(n / samples)) | (samples < 256 ? 1 : 0);
  let nonzero = 0;
  let seen = 0;
  for (let p = at; p < at + n; p += step, seen++) if (X[p] !== 0) nonzero++;
  return Math.max(nonzero / Math.max(seen, 1), 1 / 16);
}

/**
 * Whether a product of `work` multiply-adds on these arrays should take the
 * SIMD path: float32, and at least `least` of them (2,048 by default).
 */
export function useSimd(
  A: TypedArray,
  B: TypedArray,
  C: TypedArray,
  work: number,
  least = 2048,
): boolean {
  return (
    work >= least &&
    A instanceof Float32Array &&
    B instanceof Float32Array &&
    C instanceof Float32Array
  );
}
