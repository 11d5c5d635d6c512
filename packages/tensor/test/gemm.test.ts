import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { packedGemm, setDenseEnabled } from '../src/kernels/dense.js';
import { gemm } from '../src/kernels/gemm.js';
import { relaxedSimd } from '../src/kernels/relaxed.js';
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

  // Every x86-64 of the last decade and every arm64 has a fused multiply-add,
  // so with relaxed SIMD each multiply-add is fused; without it, each product
  // is rounded before it is added.
  it(`fuses each multiply-add exactly when the engine has relaxed SIMD (here: ${relaxedSimd()})`, () => {
    expect(fused).toBe(relaxedSimd());
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

  it("a hidden layer's weight gradient Aᵀ·B (both narrow) takes the dense kernel's bits", () => {
    const rng = new Rng(21);
    for (const [m, n] of [
      [16, 16],
      [10, 16],
    ] as const) {
      const k = 64;
      const A = Float32Array.from({ length: k * m }, () => rng.normal());
      const B = sparse(rng, k * n, 0.5);
      B[5] = Number.POSITIVE_INFINITY; // times a zero of A it is NaN: nothing is skipped
      A[0] = 0;
      const C = new Float32Array(m * n);
      gemm(true, false, m, n, k, A, 0, B, 0, C, 0);
      expect(C).toEqual(sequentialF32(true, false, m, n, k, A, B));
      expect(Number.isNaN(C[5]!)).toBe(true);
    }
  });

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

/**
 * C = op(A)·op(B) as the SIMD kernels promise, bit for bit: each block of 256 steps of k summed
 * in order from zero in float32, the blocks' sums added in order (ONNX Runtime's order).
 */
function sequentialF32(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  A: Float32Array,
  B: Float32Array,
) {
  const C = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let total = 0;
      for (let p0 = 0; p0 < k; p0 += 256) {
        let s = 0;
        for (let p = p0; p < Math.min(k, p0 + 256); p++) {
          const product = A[tA ? p * m + i : i * k + p]! * B[tB ? j * k + p : p * n + j]!;
          // A float32 product is exact in float64; a fused step rounds once (to float32, after
          // float64's rounding of the sum, which for these magnitudes changes nothing).
          s = Math.fround(s + (fused ? product : Math.fround(product)));
        }
        total = p0 === 0 ? s : Math.fround(total + s);
      }
      C[i * n + j] = total;
    }
  return C;
}

/**
 * Whether the kernels fuse each multiply-add (relaxed SIMD on a processor with FMA): 1·(−(1 + 2⁻¹¹))
 * then (1 + 2⁻¹²)², whose exact square is 1 + 2⁻¹¹ + 2⁻²⁴, sums to 2⁻²⁴ fused and to 0 rounded first.
 */
const fused = (() => {
  const A = Float32Array.of(1, 1 + 2 ** -12);
  const B = Float32Array.of(-(1 + 2 ** -11), 1 + 2 ** -12);
  const C = new Float32Array(1);
  simdGemm()!.rows(false, 1, 1, 2, A, 0, B, 0, C, 0);
  return C[0] !== 0;
})();

const variants = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const;

describe('dense SIMD gemm', () => {
  // Sizes off the 4×8 tile, k past one block of 256 steps, m past one block of 256 rows.
  const odd: [number, number, number][] = [
    [1, 1, 1],
    [5, 9, 3],
    [4, 8, 25],
    [13, 17, 300],
    [261, 11, 7],
    [3, 40, 513],
    [6, 3, 0],
  ];

  for (const [tA, tB] of variants) {
    it(`${tA ? 'Aᵀ' : 'A'}·${tB ? 'Bᵀ' : 'B'} sums each output by blocks of k in order in float32, bit for bit`, () => {
      const rng = new Rng(5);
      for (const [m, n, k] of odd) {
        const A = Float32Array.from({ length: m * k }, () => rng.normal());
        const B = Float32Array.from({ length: n * k }, () => rng.normal());
        const C = new Float32Array(m * n + 2).fill(Number.NaN);
        packedGemm(tA, tB, m, n, k, A, 0, B, 0, C, 2);
        expect(C.subarray(2), `[${m}, ${n}, ${k}]`).toEqual(sequentialF32(tA, tB, m, n, k, A, B));
        expect(C[0]).toBeNaN(); // nothing written before the result
        const want = reference(tA, tB, m, n, k, A, B);
        const worst = Math.max(
          0,
          ...want.map((w, i) => Math.abs(C[i + 2]! - w) / (1 + Math.abs(w))),
        );
        expect(worst, `[${m}, ${n}, ${k}] against float64`).toBeLessThan(1e-4);
      }
    });

    it(`${tA ? 'Aᵀ' : 'A'}·${tB ? 'Bᵀ' : 'B'} carries NaN and ±∞ to exactly the outputs IEEE arithmetic gives`, () => {
      const rng = new Rng(6);
      const [m, n, k] = [9, 13, 11];
      const A = Float32Array.from({ length: m * k }, () => rng.normal());
      const B = Float32Array.from({ length: n * k }, () => rng.normal());
      A[3] = Number.NaN;
      A[20] = Number.POSITIVE_INFINITY;
      A[40] = 0; // 0·∞ below is NaN
      B[7] = Number.NEGATIVE_INFINITY;
      B[50] = Number.POSITIVE_INFINITY;
      const C = new Float32Array(m * n);
      packedGemm(tA, tB, m, n, k, A, 0, B, 0, C, 0);
      const want = sequentialF32(tA, tB, m, n, k, A, B);
      expect(
        want.some(Number.isNaN) && want.some((v) => !Number.isFinite(v) && !Number.isNaN(v)),
      ).toBe(true);
      expect(C).toEqual(want);
    });
  }

  it('gemm gives the dense kernel dense operands and the zero-skipping one image-like operands, both right', () => {
    const rng = new Rng(7);
    const [m, n, k] = [64, 16, 784];
    for (const density of [0.15, 1]) {
      const A = sparse(rng, m * k, density);
      const B = Float32Array.from({ length: n * k }, () => rng.normal());
      A[100] = Number.POSITIVE_INFINITY;
      const C = new Float32Array(m * n);
      gemm(false, true, m, n, k, A, 0, B, 0, C, 0);
      const want = reference(false, true, m, n, k, A, B);
      for (let i = 0; i < want.length; i++) {
        const w = want[i]!;
        if (Number.isFinite(w)) expect(Math.abs(C[i]! - w) / (1 + Math.abs(w))).toBeLessThan(1e-4);
        else expect(C[i]).toBe(w);
      }
      // Dense operands take exactly the dense kernel's order of summation.
      if (density === 1) expect(C).toEqual(sequentialF32(false, true, m, n, k, A, B));
    }
  });

  it('switched off, gemm falls back to the other kernels with the same results to float32 tolerance', () => {
    const rng = new Rng(8);
    const [m, n, k] = [40, 40, 200];
    const A = Float32Array.from({ length: m * k }, () => rng.normal());
    const B = Float32Array.from({ length: n * k }, () => rng.normal());
    const on = new Float32Array(m * n);
    const off = new Float32Array(m * n);
    gemm(false, false, m, n, k, A, 0, B, 0, on, 0);
    setDenseEnabled(false);
    try {
      gemm(false, false, m, n, k, A, 0, B, 0, off, 0);
    } finally {
      setDenseEnabled(true);
    }
    expect(on).toEqual(sequentialF32(false, false, m, n, k, A, B));
    for (let i = 0; i < on.length; i++)
      expect(Math.abs(on[i]! - off[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(on[i]!)));
  });
});

describe('narrow rows kernel (a layer of up to 32 outputs)', () => {
  // Odd row counts, a block of 128 rows passed, k off a multiple of 4, one and two panels of 16 columns.
  const narrow: [number, number, number][] = [
    [1, 1, 1],
    [3, 10, 5],
    [64, 16, 784],
    [129, 10, 16],
    [7, 32, 9],
    [257, 17, 50],
  ];

  for (const transB of [false, true]) {
    it(`A·${transB ? 'Bᵀ' : 'B'} sums as the dense kernel does, bit for bit, skipping zeros or not`, () => {
      const simd = simdGemm()!;
      const rng = new Rng(12);
      for (const [m, n, k] of narrow) {
        for (const density of [0.15, 1]) {
          const A = sparse(rng, m * k, density);
          const B = Float32Array.from({ length: n * k }, () => rng.normal());
          const C = new Float32Array(m * n + 4).fill(Number.NaN);
          simd.rows(transB, m, n, k, A, 0, B, 0, C, 2);
          const where = `[${m}, ${n}, ${k}] at density ${density}`;
          expect(C.subarray(2, 2 + m * n), where).toEqual(
            sequentialF32(false, transB, m, n, k, A, B),
          );
          const dense = new Float32Array(m * n);
          packedGemm(false, transB, m, n, k, A, 0, B, 0, dense, 0);
          expect(C.subarray(2, 2 + m * n), where).toEqual(dense);
          // Nothing written outside the result.
          expect([C[0], C[1], C[2 + m * n], C[3 + m * n]].every(Number.isNaN), where).toBe(true);
        }
      }
    });
  }

  it('carries NaN and ±∞ of A to the outputs IEEE arithmetic gives, among skipped zero quads', () => {
    const simd = simdGemm()!;
    const rng = new Rng(13);
    const [m, n, k] = [6, 12, 40];
    const A = sparse(rng, m * k, 0.1);
    const B = Float32Array.from({ length: n * k }, () => rng.normal());
    A[5] = Number.NaN;
    A[50] = Number.POSITIVE_INFINITY;
    B[50 % k] = 0; // ∞·0 is NaN in one output
    A[121] = Number.NEGATIVE_INFINITY;
    const C = new Float32Array(m * n);
    simd.rows(true, m, n, k, A, 0, B, 0, C, 0);
    const want = sequentialF32(false, true, m, n, k, A, B);
    expect(want.some(Number.isNaN) && want.some((v) => v === Number.NEGATIVE_INFINITY)).toBe(true);
    expect(C).toEqual(want);
  });

  it('takes −0 in A as a value, as the dense kernel does, and skips nothing else that counts', () => {
    const simd = simdGemm()!;
    const rng = new Rng(15);
    // Rows masked 64 values at a time (k = 300: non-zeros at the edges of a mask word and of a
    // 256-value block of k), and rows of at most 64 values, taken whole (k = 40).
    for (const k of [300, 40]) {
      const [m, n] = [3, 16];
      const A = new Float32Array(m * k);
      for (const at of [0, 63, 64, 255, 256, 299]) if (at < k) A[k + at] = rng.normal();
      A[2 * k + 5] = -0; // a row of −0 and zeros: every product is ±0, and the sums stay +0
      A[2 * k + (k > 200 ? 200 : 30)] = -0;
      const B = Float32Array.from({ length: n * k }, () => rng.normal());
      B[0] = -1;
      const C = new Float32Array(m * n).fill(Number.NaN);
      simd.rows(true, m, n, k, A, 0, B, 0, C, 0);
      const dense = new Float32Array(m * n);
      packedGemm(false, true, m, n, k, A, 0, B, 0, dense, 0);
      expect(C, `k = ${k}`).toEqual(sequentialF32(false, true, m, n, k, A, B));
      expect(C, `k = ${k}`).toEqual(dense);
      expect(Array.from(C.subarray(0, n)).every((v) => Object.is(v, 0))).toBe(true);
      expect(Array.from(C.subarray(2 * n)).every((v) => Object.is(v, 0))).toBe(true);
      expect(C.subarray(n, 2 * n).every((v) => v !== 0)).toBe(true);
    }
  });

  it('returns false and writes nothing when B holds a NaN or ±∞', () => {
    const simd = simdGemm()!;
    const [m, n, k] = [4, 10, 9];
    const A = new Float32Array(m * k).fill(1);
    // Where the panels read B: a 4×4 transpose, the last k mod 4 values of a group of four
    // rows, a row past the last group, and each of an untransposed B's one at a time.
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const transB of [true, false]) {
        for (const at of [0, 2 * k + 8, n * k - 1]) {
          const B = new Float32Array(n * k).fill(0.5);
          B[at] = bad;
          const C = new Float32Array(m * n).fill(7);
          expect(simd.rows(transB, m, n, k, A, 0, B, 0, C, 0), `${bad} at ${at}`).toBe(false);
          expect(C.every((v) => v === 7)).toBe(true);
        }
      }
    }
  });

  it('a narrow weight gradient Aᵀ·B sums as the dense kernel does, bit for bit', () => {
    const simd = simdGemm()!;
    const rng = new Rng(14);
    // Both kernels: tn16 (under 32 rows, or B under 64 columns) and tn_cols, whose
    // sums are transposed after (in place, into scratch for 10 or 17 rows, and in
    // blocks of 256 rows added in order).
    for (const [m, n, k] of [
      [16, 784, 64],
      [10, 30, 7],
      [17, 13, 64],
      [12, 20, 600],
      [12, 100, 600],
      [10, 100, 40],
      [17, 68, 33],
      [16, 784, 31],
      [16, 784, 32],
    ] as const) {
      for (const density of [0.15, 1]) {
        const A = Float32Array.from({ length: k * m }, () => rng.normal());
        const B = sparse(rng, k * n, density);
        // A NaN, an ∞ and a −0 among B's values: each is multiplied, not skipped as a zero.
        B[n + 3] = Number.NaN;
        B[2 * n + 1] = Number.POSITIVE_INFINITY;
        B[3 * n + 2] = -0;
        const C = new Float32Array(m * n);
        simd.tn(m, n, k, A, 0, B, 0, C, 0);
        const dense = new Float32Array(m * n);
        packedGemm(true, false, m, n, k, A, 0, B, 0, dense, 0);
        expect(C, `[${m}, ${n}, ${k}] at density ${density}`).toEqual(dense);
        expect(C).toEqual(sequentialF32(true, false, m, n, k, A, B));
      }
    }
  });
});
