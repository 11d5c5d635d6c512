import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { gemm } from '../src/kernels/gemm.js';
import { setSimdEnabled, simdGemm } from '../src/kernels/simd.js';

/** C = op(A)·op(B) by the definition, in float64. */
function reference(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
) {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++)
        s += A[tA ? p * m + i : i * k + p]! * B[tB ? j * k + p : p * n + j]!;
      C[i * n + j] = s;
    }
  return C;
}

function sparse(rng: Rng, size: number, density: number): Float32Array {
  return Float32Array.from({ length: size }, () => (rng.float() < density ? rng.normal() : 0));
}

const shapes: [number, number, number][] = [
  [64, 16, 784],
  [64, 10, 16],
  [7, 33, 50],
  [16, 784, 64],
  [3, 1, 5],
  [40, 17, 300],
];

describe('gemm kernels', () => {
  it('the SIMD module instantiates in this runtime', () => {
    expect(simdGemm()).not.toBeNull();
  });

  for (const simd of [true, false]) {
    for (const [tA, tB] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      it(`${tA ? 'Aᵀ' : 'A'}·${tB ? 'Bᵀ' : 'B'} matches the definition on sparse and dense operands (${simd ? 'SIMD' : 'JS'})`, () => {
        setSimdEnabled(simd);
        try {
          const rng = new Rng(11);
          for (const [m, n, k] of shapes) {
            for (const density of [0.2, 1]) {
              const A = sparse(rng, m * k, density);
              const B = sparse(rng, k * n, density);
              const C = new Float32Array(m * n + 3).fill(Number.NaN);
              gemm(tA, tB, m, n, k, A, 0, B, 0, C, 3);
              const want = reference(tA, tB, m, n, k, A, B);
              const worst = Math.max(
                ...want.map((w, i) => Math.abs(C[i + 3]! - w) / (1 + Math.abs(w))),
              );
              expect(worst, `[${m}, ${n}, ${k}] at density ${density}`).toBeLessThan(1e-4);
            }
          }
        } finally {
          setSimdEnabled(true);
        }
      });
    }
  }

  it('float64 operands stay exact to float64 rounding', () => {
    const rng = new Rng(2);
    const A = Float64Array.from({ length: 64 * 784 }, () => rng.normal());
    const B = Float64Array.from({ length: 16 * 784 }, () => rng.normal());
    const C = new Float64Array(64 * 16);
    gemm(false, true, 64, 16, 784, A, 0, B, 0, C, 0);
    const want = reference(false, true, 64, 16, 784, A, B);
    const worst = Math.max(...want.map((w, i) => Math.abs(C[i]! - w) / (1 + Math.abs(w))));
    expect(worst).toBeLessThan(1e-12);
  });
});
