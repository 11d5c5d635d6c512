import { describe, expect, it } from 'vitest';
import { Rng, randn, tensor } from '../src/index.js';

describe('sum over the axes around a kept block', () => {
  it('adds each output in input order in float64, as the general loop does: the same bits', () => {
    const rng = new Rng(3);
    for (const [shape, axes] of [
      [
        [5, 3, 4, 7],
        [0, 2, 3],
      ],
      [
        [2, 6, 5],
        [0, 2],
      ],
      [
        [4, 3, 2, 9],
        [2, 3],
      ],
      [
        [3, 2, 3, 5],
        [0, 3],
      ],
      // channels four at a time, over several images (a conv bias's gradient)
      [
        [3, 9, 4, 5],
        [0, 2, 3],
      ],
      // the trailing axes kept: columns four at a time, then one by one (a bias's gradient)
      [[64, 16], [0]],
      [[64, 10], [0]],
      [[7, 3], [0]],
      [
        [4, 5, 3, 2],
        [0, 1],
      ],
    ] as [number[], number[]][]) {
      const x = randn(shape, { rng }).mul(1e3);
      const y = x.sum(axes, true);
      // Float64 sums in row-major order of the input, rounded once to float32.
      const want = new Float64Array(y.size);
      const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
      const outShape = shape.map((n, d) => (axes.includes(d) ? 1 : n));
      const outStrides = outShape.map((_, d) => outShape.slice(d + 1).reduce((a, b) => a * b, 1));
      for (let i = 0; i < x.size; i++) {
        let o = 0;
        for (let d = 0; d < shape.length; d++) {
          const k = Math.floor(i / strides[d]!) % shape[d]!;
          if (!axes.includes(d)) o += k * outStrides[d]!;
        }
        want[o]! += x.data[i]!;
      }
      expect(Array.from(y.data), `${shape} over ${axes}`).toEqual(
        Array.from(Float32Array.from(want)),
      );
    }
  });

  it('column sums in float64, float32 and int32: the bits of the general loop, -0, ±∞ and NaN included', () => {
    // Per column: all −0 (a float64 sum from 0 is +0), sums that depend on
    // the order (1e300 + 1 − 1e300 …), ∞ then NaN, plain values.
    const column = (c: number, r: number): number =>
      [
        -0,
        [1e300, 1, -1e300, 1][r % 4]!,
        r === 3 ? Number.POSITIVE_INFINITY : r === 6 ? Number.NaN : r,
        0.1 * r,
        [1, 1e300, 1, -1e300][r % 4]!,
        r % 2 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,
        -0,
      ][c]!;
    for (const dtype of ['float64', 'float32', 'int32'] as const) {
      const rows = 9;
      const cols = 7;
      const values = Array.from({ length: rows * cols }, (_, i) =>
        dtype === 'int32' ? ((i * 2654435761) | 0) >> 3 : column(i % cols, Math.floor(i / cols)),
      );
      const x = tensor(values, { dtype, shape: [rows, cols] });
      const want = new Float64Array(cols);
      for (let i = 0; i < values.length; i++) want[i % cols]! += x.data[i]!;
      const expected = Array.from(
        dtype === 'float64'
          ? want
          : dtype === 'float32'
            ? Float32Array.from(want)
            : Int32Array.from(want),
      );
      const got = Array.from(x.sum(0).data);
      got.forEach((v, c) => {
        expect(Object.is(v, expected[c]), `${dtype} column ${c}: ${v}`).toBe(true);
      });
    }
  });
});
