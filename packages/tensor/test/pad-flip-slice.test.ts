import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  flip,
  gradcheck,
  OptionError,
  pad,
  ShapeError,
  slice,
  type Tensor,
  tensor,
} from '../src/index.js';
import { expectAllClose, ravel, sizeOfRef, thrown, uniform, unravel } from './support.js';

const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });

/** F.pad by definition: each output index maps back to an input index, or to the fill. */
function padRef(
  x: Tensor,
  pads: readonly number[],
  mode: 'constant' | 'reflect' | 'replicate' | 'circular',
  value: number,
): { shape: number[]; data: number[] } {
  const before = x.shape.map(() => 0);
  const after = x.shape.map(() => 0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[x.ndim - 1 - k] = pads[2 * k]!;
    after[x.ndim - 1 - k] = pads[2 * k + 1]!;
  }
  const out = x.shape.map((n, d) => n + before[d]! + after[d]!);
  const data: number[] = [];
  for (let f = 0; f < sizeOfRef(out); f++) {
    const idx = unravel(f, out).map((i, d) => i - before[d]!);
    if (mode !== 'constant') {
      const src = idx.map((i, d) => {
        const n = x.shape[d]!;
        if (mode === 'replicate') return Math.min(Math.max(i, 0), n - 1);
        if (mode === 'circular') return ((i % n) + n) % n;
        return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
      });
      data.push(x.data[ravel(src, x.shape)]!);
    } else if (idx.every((i, d) => i >= 0 && i < x.shape[d]!)) {
      data.push(x.data[ravel(idx, x.shape)]!);
    } else data.push(value);
  }
  return { shape: out, data };
}

describe('pad', () => {
  it('constant padding (negative pads crop) matches the definition', () => {
    fc.assert(
      fc.property(
        shape,
        fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 6 }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        seed,
        (s, raw, value, sd) => {
          const pads = raw.slice(0, 2 * Math.floor(Math.min(raw.length, 2 * s.length) / 2));
          const x = uniform(s, sd);
          const ref = padRef(x, pads, 'constant', value);
          fc.pre(ref.shape.every((n) => n >= 0));
          const y = pad(x, pads, { value });
          expect(y.shape).toEqual(ref.shape);
          expectAllClose(y.data, ref.data);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reflect padding matches the definition', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 2, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 6 }),
        seed,
        (s, raw, sd) => {
          const pads = raw.slice(0, 2 * Math.floor(Math.min(raw.length, 2 * s.length) / 2));
          const x = uniform(s, sd);
          const fits = pads.every((p, k) => p < s[s.length - 1 - Math.floor(k / 2)]!);
          fc.pre(fits);
          const y = pad(x, pads, { mode: 'reflect' });
          const ref = padRef(x, pads, 'reflect', 0);
          expect(y.shape).toEqual(ref.shape);
          expectAllClose(y.data, ref.data);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('replicate and circular padding match the definition', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 6 }),
        fc.constantFrom('replicate' as const, 'circular' as const),
        seed,
        (s, raw, mode, sd) => {
          const pads = raw.slice(0, 2 * Math.floor(Math.min(raw.length, 2 * s.length) / 2));
          const x = uniform(s, sd);
          const fits = pads.every(
            (p, k) => mode === 'replicate' || p <= s[s.length - 1 - Math.floor(k / 2)]!,
          );
          if (!fits) {
            expect(() => pad(x, pads, { mode })).toThrow(ShapeError);
            return;
          }
          const y = pad(x, pads, { mode });
          const ref = padRef(x, pads, mode, 0);
          expect(y.shape).toEqual(ref.shape);
          expectAllClose(y.data, ref.data);
        },
      ),
      { numRuns: 150 },
    );
    expect(tensor([1, 2, 3]).pad([2, 2], { mode: 'replicate' }).toArray()).toEqual([
      1, 1, 1, 2, 3, 3, 3,
    ]);
    expect(tensor([1, 2, 3]).pad([2, 2], { mode: 'circular' }).toArray()).toEqual([
      2, 3, 1, 2, 3, 1, 2,
    ]);
  });

  it('reflects as PyTorch does and is a Tensor method', () => {
    expect(tensor([1, 2, 3]).pad([2, 2], { mode: 'reflect' }).toArray()).toEqual([
      3, 2, 1, 2, 3, 2, 1,
    ]);
    expect(
      tensor([[1, 2]])
        .pad([1, 0, 0, 1], { value: 9 })
        .toArray(),
    ).toEqual([
      [9, 1, 2],
      [9, 9, 9],
    ]);
  });

  it('gradients: constant with a fill, cropping, reflect', () => {
    const w = (t: Tensor) => t.mul(uniform(t.shape as number[], 77));
    for (const [f, x] of [
      [(t: Tensor) => w(pad(t, [1, 2, 0, 1], { value: 3 })), uniform([2, 3, 4], 1)],
      [(t: Tensor) => w(pad(t, [-1, 2, 1, -2])), uniform([3, 4], 2)],
      [(t: Tensor) => w(pad(t, [2, 1, 1, 2], { mode: 'reflect' })), uniform([1, 3, 4], 3)],
      [(t: Tensor) => w(pad(t, [2, 3, 1, 0], { mode: 'replicate' })), uniform([2, 3, 2], 4)],
      [(t: Tensor) => w(pad(t, [2, 3, 1, 2], { mode: 'circular' })), uniform([1, 3, 4], 5)],
    ] as [(t: Tensor) => Tensor, Tensor][]) {
      expect(gradcheck(f, [x]).maxRelError).toBeLessThan(1e-6);
    }
  });

  it('errors name the pads and the shape', () => {
    const x = uniform([2, 3], 1);
    const odd = thrown(() => pad(x, [1, 2, 3]));
    expect(odd).toBeInstanceOf(ShapeError);
    expect(odd.message).toBe(
      'pad: pads [1, 2, 3] must be pairs (before, after) for at most the 2 axes of [2, 3]',
    );
    expect(thrown(() => pad(x, [3, 0], { mode: 'reflect' })).message).toBe(
      'pad: reflect padding [3, 0] must be non-negative and smaller than each padded axis of [2, 3]',
    );
    expect(thrown(() => pad(x, [0, 4], { mode: 'circular' })).message).toBe(
      'pad: circular padding [0, 4] must be non-negative and at most each padded axis of [2, 3]',
    );
    expect(thrown(() => pad(x, [-2, -2])).message).toBe(
      'pad: pads [-2, -2] crop more than all of [2, 3]',
    );
    const int = thrown(() => pad(tensor([1, 2], { dtype: 'int32' }), [1, 1], { value: 0.5 }));
    expect(int.name).toBe('DTypeError');
    expect(int.message).toBe(
      'pad: value 0.5 cannot fill an int32 tensor of shape [2] (cast the tensor first)',
    );
    expect(pad(tensor([1, 2], { dtype: 'int32' }), [1, 1], { value: -3 }).toArray()).toEqual([
      -3, 1, 2, -3,
    ]);
    const mode = thrown(() => pad(x, [1, 1], { mode: 'wrap' as never }));
    expect(mode).toBeInstanceOf(OptionError);
    expect(mode.message).toBe(
      "pad: mode 'wrap' must be 'constant', 'reflect', 'replicate' or 'circular'",
    );
  });
});

describe('flip', () => {
  it('reverses the named axes', () => {
    expect(
      flip(
        tensor([
          [1, 2, 3],
          [4, 5, 6],
        ]),
        1,
      ).toArray(),
    ).toEqual([
      [3, 2, 1],
      [6, 5, 4],
    ]);
    expect(
      tensor([
        [1, 2, 3],
        [4, 5, 6],
      ])
        .flip([0, -1])
        .toArray(),
    ).toEqual([
      [6, 5, 4],
      [3, 2, 1],
    ]);
  });

  it('matches the definition on random shapes and axes', () => {
    fc.assert(
      fc.property(
        shape,
        fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
        seed,
        (s, pick, sd) => {
          const axes = s.map((_, d) => d).filter((d) => pick[d]);
          const x = uniform(s, sd);
          const y = flip(x, axes);
          const ref = Array.from({ length: x.size }, (_, f) => {
            const idx = unravel(f, s).map((i, d) => (axes.includes(d) ? s[d]! - 1 - i : i));
            return x.data[ravel(idx, s)]!;
          });
          expect(Array.from(y.data)).toEqual(ref);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('gradient', () => {
    const x = uniform([2, 3, 4], 4);
    const f = (t: Tensor) => flip(t, [0, 2]).mul(uniform([2, 3, 4], 5));
    expect(gradcheck(f, [x]).maxRelError).toBeLessThan(1e-6);
  });
});

describe('slice with a step', () => {
  it('takes every step-th entry of [begin, end), as Python does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 3 }),
        fc.array(
          fc.tuple(
            fc.integer({ min: -8, max: 8 }),
            fc.integer({ min: -8, max: 8 }),
            fc.integer({ min: 1, max: 4 }),
          ),
          {
            minLength: 3,
            maxLength: 3,
          },
        ),
        seed,
        (s, bounds, sd) => {
          const x = uniform(s, sd);
          const begin = s.map((_, d) => bounds[d]![0]);
          const end = s.map((_, d) => bounds[d]![1]);
          const step = s.map((_, d) => bounds[d]![2]);
          const y = slice(x, begin, end, step);
          // Python's range over the clamped bounds, axis by axis.
          const picks = s.map((n, d) => {
            const c = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
            const out: number[] = [];
            for (let i = c(begin[d]!); i < c(end[d]!); i += step[d]!) out.push(i);
            return out;
          });
          expect(y.shape).toEqual(picks.map((p) => p.length));
          const ref = Array.from({ length: y.size }, (_, f) => {
            const idx = unravel(f, y.shape).map((i, d) => picks[d]![i]!);
            return x.data[ravel(idx, s)]!;
          });
          expect(Array.from(y.data)).toEqual(ref);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('gradient', () => {
    const x = uniform([5, 7], 6);
    const f = (t: Tensor) =>
      t
        .slice([1, 0], [5, 7], [2, 3])
        .pow(2)
        .mul(uniform([2, 3], 7));
    expect(gradcheck(f, [x]).maxRelError).toBeLessThan(1e-6);
    expect(x.slice([0, 1], [undefined, undefined], [3, 2]).shape).toEqual([2, 3]);
  });

  it('refuses a step that is not a positive integer', () => {
    const e = thrown(() => slice(uniform([4], 1), [0], [4], [0]));
    expect(e).toBeInstanceOf(OptionError);
    expect(e.message).toBe('slice: step [0] must be positive integers (shape [4])');
  });
});
