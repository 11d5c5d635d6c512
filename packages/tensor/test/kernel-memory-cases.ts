import { expect } from 'vitest';
import type * as Tensor from '../src/index.js';
import { relaxedSimd } from '../src/kernels/relaxed.js';

type Api = typeof Tensor;

/**
 * C[m×n] = A[m×k]·B[k×n] as the dense kernel computes it: float32 products added in order of k,
 * each multiply-add fused where the kernels run relaxed SIMD (on a processor with FMA).
 */
export function orderedProduct(m: number, n: number, k: number, A: Float32Array, B: Float32Array) {
  const C = new Float32Array(m * n);
  const fused = relaxedSimd();
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const product = A[i * k + p]! * B[p * n + j]!;
        s = Math.fround(s + (fused ? product : Math.fround(product)));
      }
      C[i * n + j] = s;
    }
  return C;
}

/**
 * Runs a conv, a dense product and a fused elementwise loop of a compiled
 * function in turn, each laying out its operands from byte 0 of the kernels'
 * one arena, and checks every result against the same computation alone.
 */
export function interleavedKernelsAgree(api: Api): void {
  const { compile, conv2d, Rng, randn } = api;
  const rng = new Rng(3);
  const x = randn([4, 3, 12, 12], { rng });
  const w = randn([8, 3, 3, 3], { rng });
  const a = randn([40, 70], { rng });
  const b = randn([70, 24], { rng });
  const u = randn([64, 64], { rng });
  const v = randn([64, 64], { rng });
  const loop = compile((p: Tensor.Tensor, q: Tensor.Tensor) => p.mul(q).add(p).relu());
  const alone = [conv2d(x, w).data.slice(), a.matmul(b).data.slice(), loop(u, v).data.slice()];
  for (let round = 0; round < 3; round++) {
    const got = [conv2d(x, w).data, a.matmul(b).data, loop(u, v).data];
    for (const [i, g] of got.entries()) expect(Array.from(g)).toEqual(Array.from(alone[i]!));
  }
  const A = a.data as Float32Array;
  const B = b.data as Float32Array;
  expect(Array.from(a.matmul(b).data)).toEqual(Array.from(orderedProduct(40, 24, 70, A, B)));
}
