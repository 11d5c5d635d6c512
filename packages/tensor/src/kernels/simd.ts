import type { TypedArray } from '../dtype.js';
import { bytes } from './wasm/gemm.wasm.js';

/**
 * The WebAssembly SIMD path for float32 products. The module is a few
 * hundred bytes shipped inside this file's import; it is instantiated on
 * first use, and where WebAssembly or its SIMD proposal is missing the
 * callers fall back to the JavaScript kernels.
 *
 * Operands are copied into the module's memory and the result copied out:
 * for the shapes this is for (a batch of images times a 16-wide panel) the
 * copies cost a small fraction of the arithmetic they make 4-wide.
 */
export interface SimdGemm {
  /** C[m×n] = A[m×k] · B[n×k]ᵀ */
  nt(
    m: number,
    n: number,
    k: number,
    A: Float32Array,
    a: number,
    B: Float32Array,
    b: number,
    C: Float32Array,
    c: number,
  ): void;
  /** C[m×n] = A[k×m]ᵀ · B[k×n] */
  tn(
    m: number,
    n: number,
    k: number,
    A: Float32Array,
    a: number,
    B: Float32Array,
    b: number,
    C: Float32Array,
    c: number,
  ): void;
}

interface Exports {
  memory: WebAssembly.Memory;
  nt16(m: number, k: number, a: number, bt: number, c: number): void;
  tn16(k: number, n: number, ap: number, b: number, ct: number): void;
}

const PANEL = 16;
/** Rows of A copied in at a time: 128 rows of an image batch are 400 KB. */
const ROWS = 128;
let cached: SimdGemm | null | undefined;

/** The SIMD kernels, or null where this runtime cannot run them. */
export function simdGemm(): SimdGemm | null {
  if (cached !== undefined) return cached;
  try {
    const binary = Uint8Array.from(atob(bytes), (ch) => ch.charCodeAt(0));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(binary), {});
    cached = wrap(instance.exports as unknown as Exports);
  } catch {
    cached = null;
  }
  return cached;
}

/** Disables (or re-enables) the SIMD path, to compare it with the fallback. */
export function setSimdEnabled(on: boolean): void {
  cached = on ? undefined : null;
}

function wrap(wasm: Exports): SimdGemm {
  let heap = new Float32Array(wasm.memory.buffer);
  /** Float offsets of three regions, growing memory when they do not fit. */
  const layout = (x: number, y: number, z: number): [number, number, number] => {
    const need = (x + y + z) * 4;
    if (need > wasm.memory.buffer.byteLength) {
      wasm.memory.grow(Math.ceil((need - wasm.memory.buffer.byteLength) / 65536));
      heap = new Float32Array(wasm.memory.buffer);
    }
    return [0, x, x + y];
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
    for (let r = 0; r < rows; r++) {
      heap.set(X.subarray(from + r * cols, from + (r + 1) * cols), to + r * stride);
      heap.fill(0, to + r * stride + cols, to + (r + 1) * stride);
    }
  };

  return {
    nt(m, n, k, A, a, B, b, C, c) {
      // The kernels read their sparse operand in fours: rows are padded to a
      // multiple of 4. A goes in by blocks of rows, so the copy stays in cache
      // for the kernel (and a large batch does not flush what comes next).
      const k4 = (k + 3) & ~3;
      const block = Math.min(m, ROWS);
      const [op, oa, oc] = layout(k4 * PANEL, block * k4, block * PANEL);
      for (let col = 0; col < n; col += PANEL) {
        const width = Math.min(PANEL, n - col);
        heap.fill(0, op, op + k4 * PANEL);
        for (let j = 0; j < width; j++) {
          const row = b + (col + j) * k;
          for (let p = 0; p < k; p++) heap[op + p * PANEL + j] = B[row + p]!;
        }
        for (let r0 = 0; r0 < m; r0 += block) {
          const rows = Math.min(block, m - r0);
          copyRows(A, a + r0 * k, rows, k, oa, k4);
          wasm.nt16(rows, k4, oa * 4, op * 4, oc * 4);
          for (let i = 0; i < rows; i++) {
            const from = oc + i * PANEL;
            const to = c + (r0 + i) * n + col;
            for (let j = 0; j < width; j++) C[to + j] = heap[from + j]!;
          }
        }
      }
    },
    tn(m, n, k, A, a, B, b, C, c) {
      const n4 = (n + 3) & ~3;
      const [ob, op, oc] = layout(k * n4, k * PANEL, n4 * PANEL);
      copyRows(B, b, k, n, ob, n4);
      for (let row = 0; row < m; row += PANEL) {
        const width = Math.min(PANEL, m - row);
        if (width < PANEL) heap.fill(0, op, op + k * PANEL);
        for (let p = 0; p < k; p++) {
          const from = a + p * m + row;
          const to = op + p * PANEL;
          for (let i = 0; i < width; i++) heap[to + i] = A[from + i]!;
        }
        wasm.tn16(k, n4, op * 4, ob * 4, oc * 4);
        for (let i = 0; i < width; i++) {
          const out = c + (row + i) * n;
          for (let j = 0; j < n; j++) C[out + j] = heap[oc + j * PANEL + i]!;
        }
      }
    },
  };
}

/** Whether a product of this size on these arrays should take the SIMD path. */
export function useSimd(A: TypedArray, B: TypedArray, C: TypedArray, work: number): boolean {
  return (
    work >= 16384 &&
    A instanceof Float32Array &&
    B instanceof Float32Array &&
    C instanceof Float32Array
  );
}
