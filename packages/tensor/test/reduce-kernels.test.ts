import { describe, expect, it } from 'vitest';
import { Rng, randn } from '../src/index.js';

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
});
