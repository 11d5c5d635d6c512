import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { simdElementwise } from '../src/kernels/elementwise-simd.js';
import { elementwiseKernel, ops } from '../src/ops/elementwise.js';

/** Ordinary, tiny, huge values and ±0, ±∞, NaN. */
function awkward(rng: Rng, n: number): Float32Array {
  const special = [
    0,
    -0,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    1e-40,
    -3e38,
  ];
  return Float32Array.from({ length: n }, (_, i) =>
    i % 13 === 0 ? special[rng.int(special.length)]! : rng.normal() * 10 ** (rng.int(9) - 4),
  );
}

const f32 = (shape: number[]) => ({ shape, dtype: 'float32' as const });
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

describe('eager elementwise ops as SIMD loops', () => {
  const shape = [3, 5, 8, 12];
  const binary: [string, number[]][] = [
    ['the same shape', shape],
    ['a scalar', [1]],
    ['a row', [12]],
    ['a value per plane', [5, 1, 1]],
  ];
  for (const name of ['add', 'sub', 'mul', 'div', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
    it(`${name}: the same bits as the JavaScript loop, against ${binary.map(([w]) => w).join(', ')}`, () => {
      const rng = new Rng(name.length);
      for (const [, other] of binary) {
        const a = awkward(rng, size(shape));
        const b = awkward(rng, size(other));
        const kernel = simdElementwise(name, [f32(shape), f32(other)], f32(shape));
        expect(kernel).not.toBeNull();
        const got = new Float32Array(a.length);
        const want = new Float32Array(a.length);
        kernel!(got, [a, b]);
        elementwiseKernel(ops[name].expr!, [f32(shape), f32(other)], f32(shape))(want, [a, b]);
        expect(Array.from(got, (v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
          Array.from(want, (v) => (Object.is(v, -0) ? '-0' : v)),
        );
      }
    });
  }
  for (const name of ['neg', 'abs', 'sqrt', 'relu'] as const) {
    it(`${name}: the same bits as the JavaScript loop`, () => {
      const a = awkward(new Rng(7), size(shape));
      const got = new Float32Array(a.length);
      const want = new Float32Array(a.length);
      simdElementwise(name, [f32(shape)], f32(shape))!(got, [a]);
      elementwiseKernel(ops[name].expr!, [f32(shape)], f32(shape))(want, [a]);
      expect(Array.from(got, (v) => (Object.is(v, -0) ? '-0' : v))).toEqual(
        Array.from(want, (v) => (Object.is(v, -0) ? '-0' : v)),
      );
    });
  }
  it('stays in JavaScript where it cannot or would not pay', () => {
    expect(simdElementwise('exp', [f32(shape)], f32(shape))).toBeNull(); // no exact lowering
    expect(simdElementwise('add', [f32([4, 4]), f32([4, 4])], f32([4, 4]))).toBeNull(); // small
    const f64 = { shape, dtype: 'float64' as const };
    expect(simdElementwise('add', [f64, f64], f64)).toBeNull();
    expect(simdElementwise('add', [f32(shape), f32([3, 1, 1, 1])], f32(shape))).not.toBeNull();
    expect(simdElementwise('add', [f32(shape), f32([3, 1, 8, 1])], f32(shape))).toBeNull(); // strided broadcast
  });
});
