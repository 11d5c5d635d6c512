import type { TypedArray } from '../dtype.js';
import { denseAvailable, packedGemm } from './dense.js';
import type { RowSplit } from './row-split.js';
import { type Product, simdGemm, useSimd } from './simd.js';

/** A product with each operand possibly read transposed: `Product` with two flags first. */
type TransposedProduct = (
  transA: boolean,
  transB: boolean,
  ...product: Parameters<Product>
) => void;

/**
 * C[m×n] = op(A) · op(B) for row-major A and B, reading transposed operands
 * in place. Float32 products large enough to pay for copying take the
 * WebAssembly SIMD kernels (simd.ts); the rest run here, each variant
 * ordering its loops so the innermost runs over contiguous memory. Both skip
 * zero multipliers: MNIST images are ~80% zero pixels, so the first layer's
 * products mostly vanish.
 *
 * `a`/`b`/`c` are offsets of this matrix within a batched buffer.
 */
export const gemm: TransposedProduct = (transA, transB, m, n, k, A, a, B, b, C, c) => {
  // A layer's few outputs (a row of A against every column at once, zero
  // values of A skipped) whether A is a batch of images or of activations:
  // it sums as the dense kernel does, so the choice changes no bit. Every
  // float32 batch takes it, however small: a row's outputs then do not
  // depend on the batch it came in (the JavaScript kernels sum in float64).
  if (!transA && n <= NARROW && useSimd(A, B, C, m * n * k, 1)) {
    const simd = simdGemm();
    const [A32, B32, C32] = [A as Float32Array, B as Float32Array, C as Float32Array];
    if (simd?.rows(transB, m, n, k, A32, a, B32, b, C32, c)) return;
  }
  // Dense operands take the register-blocked kernel; the zero-skipping ones
  // below win when most of the skipped operand is zeros (image pixels), and
  // for a narrow layer's weight gradient over a wide B (a batch of images),
  // whose packing the dense kernel would not earn back; over a narrow B (a
  // hidden layer's activations: 16×64 · 64×16 2.5 → 1.1 µs) it does. (`rows`
  // and `tn` sum in the dense kernel's order.)
  if (
    useSimd(A, B, C, m * n * k) &&
    simdGemm() &&
    denseAvailable() &&
    (transA && !transB
      ? (m > NARROW || n <= NARROW) && !mostlyZeros(B, b, k * n)
      : (transB && transA) || !mostlyZeros(A, a, m * k))
  ) {
    packedGemm(
      transA,
      transB,
      m,
      n,
      k,
      A as Float32Array,
      a,
      B as Float32Array,
      b,
      C as Float32Array,
      c,
    );
    return;
  }
  // The fast paths skip zero multipliers; 0·NaN and 0·∞ are NaN, so when an
  // operand that zeros would multiply holds a non-finite value, take the path
  // that multiplies everything. A·B and A·Bᵀ skip zeros of A; Aᵀ·B skips
  // zeros of B, and in its wide JS form zeros of A too.
  const simd = (!(transA && transB) && useSimd(A, B, C, m * n * k, SMALL) && simdGemm()) || null;
  const tn = transA && !transB;
  const wideTN = tn && m > NARROW && !simd;
  const checkB = !transA || wideTN;
  if ((tn && !finite(A, a, m * k)) || (checkB && !finite(B, b, n * k))) {
    denseGemm(transA, transB, m, n, k, A, a, B, b, C, c);
    return;
  }
  if (simd && !transA && !transB)
    simd.ab(m, n, k, A as Float32Array, a, B as Float32Array, b, C as Float32Array, c);
  else if (simd && transB)
    simd.nt(m, n, k, A as Float32Array, a, B as Float32Array, b, C as Float32Array, c);
  else if (simd && transA)
    simd.tn(m, n, k, A as Float32Array, a, B as Float32Array, b, C as Float32Array, c);
  else if (!transA && !transB) {
    if (n <= NARROW) narrowRows(n)(m, k, A, a, B, b, C, c);
    else gemmNN(m, n, k, A, a, B, b, C, c);
  } else if (!transA && transB) {
    if (n <= NARROW)
      narrowRows(n)(m, k, A, a, packTransposed(n, k, B, b, panel(B, n * k)), 0, C, c);
    else gemmNT(m, n, k, A, a, B, b, C, c);
  } else if (transA && !transB) {
    if (!wideTN) narrowTNKernel(m)(n, k, A, a, B, b, C, c, accumulator(m * n));
    else gemmTN(m, n, k, A, a, B, b, C, c);
  } else denseGemm(true, true, m, n, k, A, a, B, b, C, c); // Aᵀ·Bᵀ: rare, strided but correct
};

/**
 * The float32 product as a row-local kernel (row-split.ts) when `gemm` takes
 * the narrow zero-skipping path for it (A not transposed, a layer of at most
 * NARROW outputs), so that a row's bits are those `gemm` gives; else null.
 */
export function gemmRowSplit(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
): RowSplit | null {
  if (transA || n > NARROW || m * n * k < 1) return null;
  return simdGemm()?.rowSplit(transB, m, n, k) ?? null;
}

/** A[m×k] · B[k×n]: row i of C accumulates A[i,p] · row p of B. */
const gemmNN: Product = (m, n, k, A, a, B, b, C, c) => {
  C.fill(0, c, c + m * n);
  for (let i = 0; i < m; i++) {
    const ci = c + i * n;
    const ai = a + i * k;
    for (let p = 0; p < k; p++) {
      const s = A[ai + p]!;
      if (s === 0) continue;
      const bp = b + p * n;
      for (let j = 0; j < n; j++) C[ci + j]! += s * B[bp + j]!;
    }
  }
};

/**
 * A[m×k] · B[n×k]ᵀ: each C[i,j] is a dot product of two contiguous rows.
 * A mostly-zero row of A is first packed to its non-zeros, so every dot
 * product over it touches only those.
 */
const gemmNT: Product = (m, n, k, A, a, B, b, C, c) => {
  const { idx, val } = scratch(k);
  for (let i = 0; i < m; i++) {
    const ai = a + i * k;
    const nnz = pack(A, ai, k, idx, val);
    const ci = c + i * n;
    if (nnz < SPARSE * k) {
      for (let j = 0; j < n; j++) {
        const bj = b + j * k;
        let s0 = 0;
        let s1 = 0;
        let t = 0;
        for (; t + 1 < nnz; t += 2) {
          s0 += val[t]! * B[bj + idx[t]!]!;
          s1 += val[t + 1]! * B[bj + idx[t + 1]!]!;
        }
        if (t < nnz) s0 += val[t]! * B[bj + idx[t]!]!;
        C[ci + j] = s0 + s1;
      }
      continue;
    }
    for (let j = 0; j < n; j++) {
      const bj = b + j * k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let p = 0;
      for (; p + 3 < k; p += 4) {
        s0 += A[ai + p]! * B[bj + p]!;
        s1 += A[ai + p + 1]! * B[bj + p + 1]!;
        s2 += A[ai + p + 2]! * B[bj + p + 2]!;
        s3 += A[ai + p + 3]! * B[bj + p + 3]!;
      }
      for (; p < k; p++) s0 += A[ai + p]! * B[bj + p]!;
      C[ci + j] = s0 + s1 + (s2 + s3);
    }
  }
};

/**
 * A[k×m]ᵀ · B[k×n]: for each p, row p of B scaled by A[p,i] adds into row i
 * of C. Zero multipliers are skipped, and a mostly-zero row of B (a batch of
 * images, in a weight gradient) is packed so only its non-zeros are added.
 */
const gemmTN: Product = (m, n, k, A, a, B, b, C, c) => {
  C.fill(0, c, c + m * n);
  const { idx, val } = scratch(n);
  for (let p = 0; p < k; p++) {
    const ap = a + p * m;
    const bp = b + p * n;
    const nnz = pack(B, bp, n, idx, val);
    const sparse = nnz < SPARSE * n;
    for (let i = 0; i < m; i++) {
      const s = A[ap + i]!;
      if (s === 0) continue;
      const ci = c + i * n;
      if (sparse) for (let t = 0; t < nnz; t++) C[ci + idx[t]!]! += s * val[t]!;
      else for (let j = 0; j < n; j++) C[ci + j]! += s * B[bp + j]!;
    }
  }
};

/**
 * Multiply-adds from which the zero-skipping WebAssembly kernels beat the
 * JavaScript ones: a weight gradient over a batch of 10 of a 16-unit layer
 * (1,600) takes half the time there.
 */
const SMALL = 256;

/** Below this fraction of non-zeros, a packed row beats a dense one. */
const SPARSE = 0.6;

let packIdx = new Int32Array(1024);
let packVal = new Float64Array(1024);

/** Reusable buffers for one packed row (kernels run one at a time). */
function scratch(n: number): { idx: Int32Array; val: Float64Array } {
  if (packIdx.length < n) {
    packIdx = new Int32Array(n);
    packVal = new Float64Array(n);
  }
  return { idx: packIdx, val: packVal };
}

/** Packs the non-zeros of X[at, at + n) into idx/val; returns how many. */
function pack(X: TypedArray, at: number, n: number, idx: Int32Array, val: Float64Array): number {
  let nnz = 0;
  for (let p = 0; p < n; p++) {
    const v = X[at + p]!;
    if (v !== 0) {
      idx[nnz] = p;
      val[nnz++] = v;
    }
  }
  return nnz;
}

// ---- narrow products: a dense layer's few outputs held in registers ---------

/**
 * Widths up to this many columns get kernels generated for their exact
 * width: a row's outputs live in local variables for the whole inner loop.
 * A dense layer of 16 neurons is the case this is for.
 */
const NARROW = 32;

type NarrowRows = (
  m: number,
  k: number,
  A: TypedArray,
  a: number,
  P: TypedArray,
  o: number,
  C: TypedArray,
  c: number,
) => void;
type NarrowTN = (
  n: number,
  k: number,
  A: TypedArray,
  a: number,
  B: TypedArray,
  b: number,
  C: TypedArray,
  c: number,
  CT: Float64Array,
) => void;

const narrowKernels = new Map<number, NarrowRows>();
const narrowTNs = new Map<number, NarrowTN>();

const range = (n: number) => Array.from({ length: n }, (_, j) => j);

/**
 * C[m×w] = A[m×k] · P[k×w] for a row-major panel P at offset `o`: each
 * non-zero A[i,p] adds A[i,p]·P[p,:] into w running sums held in locals, so
 * zero inputs cost one comparison and C is written once. A·B with a narrow B
 * is this with P = B; A·Bᵀ packs B into P first.
 */
function narrowRows(w: number): NarrowRows {
  let fn = narrowKernels.get(w);
  if (!fn) {
    const body = `
      for (let i = 0; i < m; i++) {
        ${range(w)
          .map((j) => `let s${j} = 0;`)
          .join(' ')}
        const ai = a + i * k;
        for (let p = 0; p < k; p++) {
          const v = A[ai + p];
          if (v === 0) continue;
          const q = o + p * ${w};
          ${range(w)
            .map((j) => `s${j} += v * P[q + ${j}];`)
            .join(' ')}
        }
        const ci = c + i * ${w};
        ${range(w)
          .map((j) => `C[ci + ${j}] = s${j};`)
          .join(' ')}
      }`;
    fn = new Function('m', 'k', 'A', 'a', 'P', 'o', 'C', 'c', body) as NarrowRows;
    narrowKernels.set(w, fn);
  }
  return fn;
}

/** Packs B[w×k] (at offset b) into BT[k×w]. */
function packTransposed(
  w: number,
  k: number,
  B: TypedArray,
  b: number,
  BT: TypedArray,
): TypedArray {
  for (let j = 0; j < w; j++) {
    const row = b + j * k;
    for (let p = 0; p < k; p++) BT[p * w + j] = B[row + p]!;
  }
  return BT;
}

/**
 * C[w×n] = A[k×w]ᵀ · B[k×n]: for each p, the w multipliers A[p,:] sit in
 * registers while the non-zeros of row p of B add into CT[n×w], which is
 * transposed into C at the end. This is a weight gradient over a batch of
 * mostly-zero images.
 */
function narrowTNKernel(w: number): NarrowTN {
  let fn = narrowTNs.get(w);
  if (!fn) {
    const body = `
      CT.fill(0, 0, n * ${w});
      for (let p = 0; p < k; p++) {
        const ap = a + p * ${w};
        ${range(w)
          .map((i) => `const g${i} = A[ap + ${i}];`)
          .join(' ')}
        const bp = b + p * n;
        for (let j = 0; j < n; j++) {
          const v = B[bp + j];
          if (v === 0) continue;
          const q = j * ${w};
          ${range(w)
            .map((i) => `CT[q + ${i}] += v * g${i};`)
            .join(' ')}
        }
      }
      for (let i = 0; i < ${w}; i++) {
        const ci = c + i * n;
        for (let j = 0; j < n; j++) C[ci + j] = CT[j * ${w} + i];
      }`;
    fn = new Function('n', 'k', 'A', 'a', 'B', 'b', 'C', 'c', 'CT', body) as NarrowTN;
    narrowTNs.set(w, fn);
  }
  return fn;
}

let panel32 = new Float32Array(0);
let panel64 = new Float64Array(0);

/** Scratch for a packed copy of B, of B's own precision. */
function panel(B: TypedArray, size: number): TypedArray {
  if (B instanceof Float64Array) {
    if (panel64.length < size) panel64 = new Float64Array(size);
    return panel64;
  }
  if (panel32.length < size) panel32 = new Float32Array(size);
  return panel32;
}

let sums = new Float64Array(0);

/** Scratch accumulator for a transposed result. */
function accumulator(size: number): Float64Array {
  if (sums.length < size) sums = new Float64Array(size);
  return sums;
}

/**
 * Whether at least 70% of a sample of X[at, at + n) is exactly zero: a fixed
 * sample, so the same values always choose the same kernel (and the same bits).
 */
function mostlyZeros(X: TypedArray, at: number, n: number): boolean {
  const step = Math.max(1, Math.floor(n / 256));
  let zeros = 0;
  let seen = 0;
  for (let p = at; p < at + n; p += step, seen++) if (X[p] === 0) zeros++;
  return zeros >= 0.7 * seen;
}

/** Whether X[at, at + n) holds only finite values: x·0 is NaN exactly for NaN and ±∞. */
function finite(X: TypedArray, at: number, n: number): boolean {
  let s0 = 0;
  let s1 = 0;
  let p = at;
  const end = at + n;
  for (; p + 1 < end; p += 2) {
    s0 += X[p]! * 0;
    s1 += X[p + 1]! * 0;
  }
  if (p < end) s0 += X[p]! * 0;
  return s0 + s1 === 0;
}

/** Every product taken, nothing skipped: for operands holding NaN or ±∞, and for Aᵀ·Bᵀ. */
const denseGemm: TransposedProduct = (transA, transB, m, n, k, A, a, B, b, C, c) => {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += A[a + (transA ? p * m + i : i * k + p)]! * B[b + (transB ? j * k + p : p * n + j)]!;
      }
      C[c + i * n + j] = s;
    }
  }
};
