import { describe, expect, it } from 'vitest';
import { apply, detectAnomaly, grad, jvp, type Tensor, tensor, vmap } from '../src/index.js';
import { ops } from '../src/ops/elementwise.js';
import { uniform } from './support.js';

/**
 * Forward mode computes an elementwise op's tangent in one pass (its
 * `jvpExpr`) where nothing records a graph; where something does, the rule's
 * ops run. Both must give the same bits, in float32 (each intermediate
 * rounded) and float64, for every pattern of tangents and with broadcasting.
 */

const fused = Object.entries(ops).filter(([, op]) => op.jvpExpr !== undefined);

/** Values with the awkward cases: zeros of both signs, ones, large and small magnitudes. */
function values(shape: number[], seed: number, dtype: 'float32' | 'float64'): Tensor {
  const x = uniform(shape, seed, -3, 3).cast(dtype);
  const special = [0, -0, 1, -1, 1e-30, 40, -40];
  special.forEach((v, i) => {
    if (i * 3 < x.data.length) x.data[i * 3] = v;
  });
  return x;
}

const bits = (t: Tensor) => Array.from(t.data, (v) => (Object.is(v, -0) ? '-0' : String(v)));

describe('one-pass tangents of elementwise ops give the rule’s bits', () => {
  it('covers the common ops', () => {
    expect(fused.map(([name]) => name)).toEqual(
      expect.arrayContaining(['exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'add', 'mul', 'div']),
    );
  });

  for (const dtype of ['float64', 'float32'] as const) {
    it.each(fused)(`%s in ${dtype}`, (_name, op) => {
      const unary =
        op.name !== 'add' && op.name !== 'sub' && op.name !== 'mul' && op.name !== 'div';
      // Positive inputs where the op needs them (log, sqrt); broadcasting for binary ops.
      const positive = op.name === 'log' || op.name === 'sqrt';
      const a = positive ? values([3, 4], 1, dtype).abs().add(0.5) : values([3, 4], 1, dtype);
      const b = values([4], 2, dtype).abs().add(0.25);
      const f = unary
        ? (x: Tensor) => apply(op, [x], undefined)
        : (x: Tensor, y: Tensor) => apply(op, [x, y], undefined);
      const primals = unary ? [a] : [a, b];
      const ta = values([3, 4], 3, dtype);
      const tb = values([4], 4, dtype);
      // Every pattern of tangents: one at a time (zeros elsewhere) and all at once.
      const patterns = unary
        ? [[ta]]
        : [
            [ta, tb],
            [ta, tb.mul(0)],
            [ta.mul(0), tb],
          ];
      for (const tangents of patterns) {
        const [, plain] = jvp(f, primals, tangents);
        // A primal that requires a gradient makes the rule's ops run (they record a graph).
        const [, recorded] = jvp(
          f,
          primals.map((p) => p.requireGrad()),
          tangents,
        );
        expect(plain.dtype).toBe(dtype);
        expect(plain.shape).toEqual(recorded.shape);
        expect(bits(plain)).toEqual(bits(recorded));
      }
    });
  }

  for (const dtype of ['float64', 'float32'] as const) {
    it(`chains of elementwise ops fold into one pass with the rule's bits (${dtype})`, () => {
      const a = values([3, 4], 11, dtype);
      const b = values([4], 12, dtype).abs().add(0.5);
      const chains: [string, (x: Tensor, y: Tensor) => Tensor][] = [
        ['a chain into a reduction', (x, y) => x.sin().mul(x).tanh().add(y).exp().sum()],
        // the same tangent read twice by one op, and by two later ops
        [
          'a tangent read twice',
          (x, y) => {
            const s = x.mul(y).sigmoid();
            return s.mul(s).add(s.div(y)).neg();
          },
        ],
        // a [4] tangent read by an op over [3, 4]: broadcast, not folded
        ['a broadcast reader', (x, y) => y.cos().mul(x).sub(y.sqrt())],
        // longer than one pass folds: computed part way
        [
          'a long chain',
          (x, y) => {
            let z = x;
            for (let i = 0; i < 30; i++) z = z.mul(y).tanh().add(x);
            return z;
          },
        ],
        // a non-elementwise op in the middle reads the tangent as a tensor
        ['through softmax', (x, y) => x.mul(y).softmax(-1).log().mul(x)],
      ];
      const tangents = [values([3, 4], 13, dtype), values([4], 14, dtype)];
      for (const [what, f] of chains) {
        const [, plain] = jvp(f, [a, b], tangents);
        const [, recorded] = jvp(f, [a.requireGrad(), b.requireGrad()], tangents);
        expect(plain.dtype, what).toBe(dtype);
        expect(bits(plain), what).toEqual(bits(recorded));
      }
    });
  }

  it('runs as one op named after the primal op, which anomaly detection names', () => {
    // sqrt's tangent t / (2·√x) is ∞ at 0: the one-pass op reports it, the rule's div otherwise.
    const at0 = () => [tensor([0, 1]), tensor([1, 1])] as const;
    const [x, t] = at0();
    expect(() => detectAnomaly(() => jvp((z) => z.sqrt(), [x], [t]))).toThrow(
      /sqrt \(tangent\): produced Infinity/,
    );
    expect(() => detectAnomaly(() => jvp((z) => z.sqrt(), [x.requireGrad()], [t]))).toThrow(
      /^div: produced Infinity/,
    );
  });

  it('keeps the rule’s ops under other transforms and inside grad', () => {
    const x = uniform([3, 2], 7);
    const v = uniform([3, 2], 8);
    const f = (z: Tensor) => z.sin().mul(z).tanh().sum();
    const [, plain] = jvp(f, [x], [v]);
    // vmap over jvp: the tangent ops go through the batching rules.
    const perRow = vmap((r: Tensor, s: Tensor) => jvp((z) => f(z), [r], [s])[1])(x, v) as Tensor;
    expect(perRow.sum().item()).toBeCloseTo(plain.item(), 12);
    // grad of a jvp: the tangent is differentiated, so its ops record a graph.
    const dx = grad((z: Tensor) => jvp(f, [z], [v])[1])(x) as Tensor;
    const h = 1e-6;
    const num = x.data.map((_, i) => {
      const up = x.requireGrad(false);
      const dn = x.requireGrad(false);
      up.data[i]! += h;
      dn.data[i]! -= h;
      return (jvp(f, [up], [v])[1].item() - jvp(f, [dn], [v])[1].item()) / (2 * h);
    });
    Array.from(dx.data).forEach((g, i) => {
      expect(g).toBeCloseTo(num[i]!, 6);
    });
  });
});
