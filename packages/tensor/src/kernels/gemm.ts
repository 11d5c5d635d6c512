import type { TypedArray } from '../dtype.js';

/**
 * C[m×n] = op(A) · op(B) for row-major A and B, reading transposed operands
 * in place. Each variant orders its loops so the innermost one runs over
 * contiguous memory, and skips zero multipliers: MNIST images are ~80% zero
 * pixels, so the first layer's products mostly vanish.
 *
 * `a`/`b`/`c` are offsets of this matrix within a batched buffer.
 */
export function gemm(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  a: number,
  B: TypedArray,
  b: number,
  C: TypedArray,
  c: number,
): void {
  if (!transA && !transB) gemmNN(m, n, k, A, a, B, b, C, c);
  else if (!transA && transB) gemmNT(m, n, k, A, a, B, b, C, c);
  else if (transA && !transB) gemmTN(m, n, k, A, a, B, b, C, c);
  else gemmTT(m, n, k, A, a, B, b, C, c);
}

/** A[m×k] · B[k×n]: row i of C accumulates A[i,p] · row p of B. */
function gemmNN(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  a: number,
  B: TypedArray,
  b: number,
  C: TypedArray,
  c: number,
) {
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
}

/** A[m×k] · B[n×k]ᵀ: each C[i,j] is a dot product of two contiguous rows. */
function gemmNT(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  a: number,
  B: TypedArray,
  b: number,
  C: TypedArray,
  c: number,
) {
  for (let i = 0; i < m; i++) {
    const ai = a + i * k;
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
      C[c + i * n + j] = s0 + s1 + (s2 + s3);
    }
  }
}

/** A[k×m]ᵀ · B[k×n]: for each p, row p of B scaled by A[p,i] adds into row i of C. */
function gemmTN(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  a: number,
  B: TypedArray,
  b: number,
  C: TypedArray,
  c: number,
) {
  C.fill(0, c, c + m * n);
  for (let p = 0; p < k; p++) {
    const ap = a + p * m;
    const bp = b + p * n;
    for (let i = 0; i < m; i++) {
      const s = A[ap + i]!;
      if (s === 0) continue;
      const ci = c + i * n;
      for (let j = 0; j < n; j++) C[ci + j]! += s * B[bp + j]!;
    }
  }
}

/** A[k×m]ᵀ · B[n×k]ᵀ = (B · A)ᵀ: rare; strided but correct. */
function gemmTT(
  m: number,
  n: number,
  k: number,
  A: TypedArray,
  a: number,
  B: TypedArray,
  b: number,
  C: TypedArray,
  c: number,
) {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[a + p * m + i]! * B[b + j * k + p]!;
      C[c + i * n + j] = s;
    }
  }
}
