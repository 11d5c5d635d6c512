import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  broadcastShapes,
  concat,
  grad,
  matmul,
  ShapeError,
  softmax,
  type Tensor,
  valueAndGrad,
} from '../src/index.js';
import {
  broadcastIndex,
  broadcastRef,
  expectAllClose,
  reduceRef,
  sizeOfRef,
  uniform,
  unravel,
} from './support.js';

const dim = fc.integer({ min: 1, max: 4 });
const shape = (maxRank = 4) => fc.array(dim, { maxLength: maxRank });
const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** Shapes that broadcast together: a common shape, each copy with axes set to 1 or dropped in front. */
const compatible = (count: number) =>
  fc
    .tuple(
      shape(4),
      fc.array(fc.tuple(fc.nat(4), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })), {
        minLength: count,
        maxLength: count,
      }),
    )
    .map(([common, variants]) =>
      variants.map(([drop, ones]) =>
        common.slice(Math.min(drop, common.length)).map((d, i) => (ones[i] ? 1 : d)),
      ),
    );

describe('broadcasting agrees with NumPy’s rule (reference written independently)', () => {
  it('for arbitrary pairs and triples of shapes, compatible or not', () => {
    fc.assert(
      fc.property(fc.array(shape(4), { minLength: 1, maxLength: 3 }), (shapes) => {
        const expected = broadcastRef(...shapes);
        if (expected === null) {
          expect(() => broadcastShapes('add', ...shapes)).toThrow(ShapeError);
        } else {
          expect(broadcastShapes('add', ...shapes)).toEqual(expected);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a binary op broadcasts its values as the rule says, or throws naming both shapes', () => {
    fc.assert(
      fc.property(shape(3), shape(3), seed, (sa, sb, s) => {
        const a = uniform(sa, s);
        const b = uniform(sb, s + 1);
        const expected = broadcastRef(sa, sb);
        if (expected === null) {
          const msg = `[${sa.join(', ')}], [${sb.join(', ')}]`;
          expect(() => a.mul(b)).toThrow(msg);
          return;
        }
        const out = a.mul(b);
        expect(out.shape).toEqual(expected);
        for (let f = 0; f < out.size; f++) {
          const idx = unravel(f, expected);
          expect(out.data[f]).toBe(
            a.data[broadcastIndex(idx, sa)]! * b.data[broadcastIndex(idx, sb)]!,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the gradient of a broadcast input sums back to its shape', () => {
    fc.assert(
      fc.property(compatible(2), seed, ([sa, sb], s) => {
        const a = uniform(sa!, s);
        const b = uniform(sb!, s + 1);
        const w = uniform(broadcastRef(sa!, sb!)!, s + 2);
        const [, [ga, gb]] = valueAndGrad((x, y) => x.mul(y).mul(w).sum())(a, b);
        expect(ga!.shape).toEqual(sa);
        expect(gb!.shape).toEqual(sb);
        // d/da_i Σ a·b·w = Σ over the broadcast copies of a_i of b·w.
        const out = broadcastRef(sa!, sb!)!;
        const expectA = new Array<number>(a.size).fill(0);
        const expectB = new Array<number>(b.size).fill(0);
        for (let f = 0; f < sizeOfRef(out); f++) {
          const idx = unravel(f, out);
          const ia = broadcastIndex(idx, sa!);
          const ib = broadcastIndex(idx, sb!);
          expectA[ia]! += b.data[ib]! * w.data[f]!;
          expectB[ib]! += a.data[ia]! * w.data[f]!;
        }
        expectAllClose(ga!.data, expectA, { rtol: 1e-12, atol: 1e-12 });
        expectAllClose(gb!.data, expectB, { rtol: 1e-12, atol: 1e-12 });
      }),
    );
  });
});

describe('algebraic properties', () => {
  it('(a + b) − b ≈ a, broadcasting', () => {
    fc.assert(
      fc.property(compatible(2), seed, ([sa, sb], s) => {
        const a = uniform(sa!, s, -1e3, 1e3);
        const b = uniform(sb!, s + 1, -1e3, 1e3);
        const back = a.add(b).sub(b);
        const out = broadcastRef(sa!, sb!)!;
        expect(back.shape).toEqual(out);
        const expected = Array.from({ length: sizeOfRef(out) }, (_, f) => {
          return a.data[broadcastIndex(unravel(f, out), sa!)]!;
        });
        // One rounding of a + b, of size ≤ ulp(2e3).
        expectAllClose(back.data, expected, { rtol: 0, atol: 2e3 * 2 ** -52 });
      }),
    );
  });

  it('the sum over all axes is the sum of the data, in any order of axes', () => {
    fc.assert(
      fc.property(shape(4), seed, fc.boolean(), (sh, s, keepdims) => {
        const x = uniform(sh, s, -10, 10);
        const total = Array.from(x.data).reduce((acc, v) => acc + v, 0);
        expect(x.sum().item()).toBeCloseTo(total, 9);
        // Reducing one axis at a time, last to first, gives the same number.
        let y: Tensor = x;
        for (let a = sh.length - 1; a >= 0; a--) y = y.sum(a, keepdims);
        expect(y.shape).toEqual(keepdims ? sh.map(() => 1) : []);
        expect(y.item()).toBeCloseTo(total, 9);
      }),
    );
  });

  it('reductions over any set of axes match the reference', () => {
    fc.assert(
      fc.property(
        fc.array(dim, { minLength: 1, maxLength: 4 }).chain((sh) =>
          fc.tuple(
            fc.constant(sh),
            fc.subarray(
              sh.map((_, i) => i),
              { minLength: 1 },
            ),
          ),
        ),
        seed,
        fc.constantFrom('sum', 'mean', 'max', 'min') as fc.Arbitrary<
          'sum' | 'mean' | 'max' | 'min'
        >,
        fc.boolean(),
        ([sh, axes], s, kind, keepdims) => {
          const x = uniform(sh, s);
          const expected = reduceRef(x, axes, keepdims, kind);
          const out = x[kind](axes, keepdims);
          expect(out.shape).toEqual(expected.shape);
          expectAllClose(out.data, expected.data, { rtol: 1e-12, atol: 1e-12 });
        },
      ),
    );
  });

  it('matmul is associative within tolerance', () => {
    fc.assert(
      fc.property(dim, dim, dim, dim, fc.integer({ min: 1, max: 3 }), seed, (m, k, l, n, b, s) => {
        const A = uniform([b, m, k], s);
        const B = uniform([k, l], s + 1);
        const C = uniform([1, l, n], s + 2);
        const left = matmul(matmul(A, B), C);
        const right = matmul(A, matmul(B, C));
        expect(left.shape).toEqual([b, m, n]);
        expect(right.shape).toEqual([b, m, n]);
        expectAllClose(left.data, right.data, { rtol: 1e-12, atol: 1e-12 });
      }),
    );
  });

  it('(AB)ᵀ = BᵀAᵀ, with the transpose flags', () => {
    fc.assert(
      fc.property(dim, dim, dim, seed, (m, k, n, s) => {
        const A = uniform([m, k], s);
        const B = uniform([k, n], s + 1);
        const lhs = matmul(A, B).T;
        const rhs = matmul(B, A, { transA: true, transB: true });
        expectAllClose(rhs.data, lhs.data, { rtol: 1e-14, atol: 1e-14 });
      }),
    );
  });

  it('permuting and permuting back is the identity; so is a reshape round trip', () => {
    fc.assert(
      fc.property(
        fc.array(dim, { minLength: 1, maxLength: 4 }).chain((sh) =>
          fc.tuple(
            fc.constant(sh),
            fc.shuffledSubarray(
              sh.map((_, i) => i),
              { minLength: sh.length, maxLength: sh.length },
            ),
          ),
        ),
        seed,
        ([sh, axes], s) => {
          const x = uniform(sh, s);
          const inverse = axes.map((_, i) => axes.indexOf(i));
          const back = x.permute(axes).permute(inverse);
          expect(back.shape).toEqual(sh);
          expect(Array.from(back.data)).toEqual(Array.from(x.data));
          const r = x.reshape([-1]).reshape(sh);
          expect(Array.from(r.data)).toEqual(Array.from(x.data));
        },
      ),
    );
  });

  it('concat then slice gives the parts back', () => {
    fc.assert(
      fc.property(
        fc.array(dim, { minLength: 1, maxLength: 3 }),
        fc.array(dim, { minLength: 1, maxLength: 3 }),
        seed,
        (sh, sizes, s) => {
          const axis = s % sh.length;
          const parts = sizes.map((n, i) =>
            uniform(
              sh.map((d, a) => (a === axis ? n : d)),
              s + i,
            ),
          );
          const joined = concat(parts, axis);
          let at = 0;
          for (const p of parts) {
            const back = joined.narrow(axis, at, p.shape[axis]!);
            at += p.shape[axis]!;
            expect(Array.from(back.data)).toEqual(Array.from(p.data));
          }
        },
      ),
    );
  });

  it('softmax is a distribution, unchanged by shifting the logits', () => {
    fc.assert(
      fc.property(
        fc.array(dim, { minLength: 1, maxLength: 3 }),
        seed,
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
        (sh, s, shift) => {
          const x = uniform(sh, s, -20, 20);
          const axis = s % sh.length;
          const p = softmax(x, axis);
          expect(Array.from(p.data).every((v) => v >= 0 && v <= 1)).toBe(true);
          expectAllClose(p.sum(axis).data, new Array(p.size / sh[axis]!).fill(1), {
            rtol: 1e-14,
            atol: 1e-14,
          });
          expectAllClose(softmax(x.add(shift), axis).data, p.data, { rtol: 1e-9, atol: 1e-12 });
        },
      ),
    );
  });

  it('the gradient of Σ x·y is y, and of Σ (x·y)² is 2xy²', () => {
    fc.assert(
      fc.property(shape(3), seed, (sh, s) => {
        const x = uniform(sh, s);
        const y = uniform(sh, s + 1);
        expect(Array.from(grad((v: Tensor) => v.mul(y).sum())(x).data)).toEqual(Array.from(y.data));
        const g2 = grad((v: Tensor) => v.mul(y).square().sum())(x);
        expectAllClose(
          g2.data,
          Array.from(x.data, (v, i) => 2 * v * y.data[i]! ** 2),
          { rtol: 1e-14, atol: 1e-15 },
        );
      }),
    );
  });
});
