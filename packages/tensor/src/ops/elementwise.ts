import { assertDType, type DType, isFloat, promote } from '../dtype.js';
import { apply } from '../engine.js';
import { simdElementwise } from '../kernels/elementwise-simd.js';
import { broadcastStrides, stridedLoop } from '../kernels/strided.js';
import { defineOp, type Jvp, type JvpExpr, type Op, type Pullback, type Spec } from '../op.js';
import { broadcastShapes, stridesOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { broadcasting, noTangent, sumOf, total } from '../transforms/rules.js';
import { lift, liftPair, type Operand } from './operand.js';

/**
 * Elementwise primitives. Each is a scalar expression over `x0, x1, …`
 * (broadcast by the engine's strided loops) and its VJP in tensor ops.
 */

type Vjp = (g: Tensor, inputs: readonly Tensor[], out: Tensor) => readonly Pullback[];

/** The kernel of any elementwise expression: one loop nest over the broadcast output. */
export function elementwiseKernel(expr: string, inputs: readonly Spec[], out: Spec) {
  return stridedLoop({
    shape: out.shape,
    outStrides: stridesOf(out.shape),
    inStrides: inputs.map((s) => broadcastStrides(s.shape, out.shape)),
    body: `O[o] = ${expr};`,
  });
}

/** An op with no VJP has no JVP either: its derivative is zero wherever it has one (sign, comparisons). */
function elementwise(
  name: string,
  expr: string,
  vjp?: Vjp,
  dtype?: (inputs: readonly Tensor[]) => DType,
  jvp: Jvp<undefined> = noTangent,
  jvpExpr?: JvpExpr,
): Op {
  const op: Op = defineOp({
    name,
    expr,
    ...(jvpExpr ? { jvpExpr } : {}),
    infer: (inputs) => ({
      shape: broadcastShapes(name, ...inputs.map((t) => t.shape)),
      dtype: dtype ? dtype(inputs) : inputs.map((t) => t.dtype).reduce(promote),
    }),
    kernel: (inputs, out) =>
      simdElementwise(name, inputs, out) ?? elementwiseKernel(expr, inputs, out),
    ...(vjp ? { vjp } : {}),
    jvp,
    batch: broadcasting(() => op),
  });
  return op;
}

const floatOut = (inputs: readonly Tensor[]): DType => {
  const d = inputs.map((t) => t.dtype).reduce(promote);
  return d === 'int32' ? 'float32' : d;
};

/**
 * erf in float64 to within a few ulps, as one self-contained expression (the
 * generated loops see no helpers). Below 2.5 the series
 * erf(x) = 2/√π·e^(−x²)·Σ (2x²)ⁿ x / (1·3·…·(2n+1)), whose terms are all
 * positive (no cancellation); from 2.5 on, 1 − erfc(x) with erfc's continued
 * fraction e^(−x²)/√π / (x + ½/(x + 1/(x + (3/2)/(x + …)))) evaluated from
 * 60 terms; from 6 on erf(x) rounds to ±1.
 */
const erfExpr = `((v) => {
  const a = Math.abs(v);
  if (!(a < 6)) return a !== a ? a : Math.sign(v);
  if (a < 2.5) {
    const q = 2 * a * a;
    let t = a, s = a;
    for (let n = 1; t > 1e-17 * s; n++) { t *= q / (2 * n + 1); s += t; }
    return Math.sign(v) * 1.1283791670955126 * Math.exp(-a * a) * s;
  }
  let f = a;
  for (let k = 60; k >= 1; k--) f = a + k / 2 / f;
  return Math.sign(v) * (1 - Math.exp(-a * a) / (1.772453850905516 * f));
})(x0)`;

// ---- the table: name, scalar expression, VJP ---------------------------------

export const ops = {
  neg: elementwise(
    'neg',
    '-x0',
    (g) => [() => g.neg()],
    undefined,
    ([t]) => t!.neg(),
    ([t], _x, _y, r) => r(`-${t}`),
  ),
  exp: elementwise(
    'exp',
    'Math.exp(x0)',
    (g, _, out) => [() => g.mul(out)],
    floatOut,
    ([t], _, out) => t!.mul(out),
    ([t], _x, y, r) => r(`${t} * ${y}`),
  ),
  log: elementwise(
    'log',
    'Math.log(x0)',
    (g, [x]) => [() => g.div(x!)],
    floatOut,
    ([t], [x]) => t!.div(x!),
    ([t], [x], _y, r) => r(`${t} / ${x}`),
  ),
  sqrt: elementwise(
    'sqrt',
    'Math.sqrt(x0)',
    (g, _, out) => [() => g.div(out.mul(2))],
    floatOut,
    ([t], _, out) => t!.div(out.mul(2)),
    ([t], _x, y, r) => r(`${t} / ${r(`${y} * 2`)}`),
  ),
  abs: elementwise(
    'abs',
    'Math.abs(x0)',
    (g, [x]) => [() => g.mul(x!.sign())],
    undefined,
    ([t], [x]) => t!.mul(x!.sign()),
    ([t], [x], _y, r) => r(`${t} * ${r(`(${x} > 0 ? 1 : ${x} < 0 ? -1 : ${x})`)}`),
  ),
  sign: elementwise('sign', '(x0 > 0 ? 1 : x0 < 0 ? -1 : x0)'),
  sin: elementwise(
    'sin',
    'Math.sin(x0)',
    (g, [x]) => [() => g.mul(x!.cos())],
    floatOut,
    ([t], [x]) => t!.mul(x!.cos()),
    ([t], [x], _y, r) => r(`${t} * ${r(`Math.cos(${x})`)}`),
  ),
  cos: elementwise(
    'cos',
    'Math.cos(x0)',
    (g, [x]) => [() => g.mul(x!.sin().neg())],
    floatOut,
    ([t], [x]) => t!.mul(x!.sin()).neg(),
    ([t], [x], _y, r) => r(`-${r(`${t} * ${r(`Math.sin(${x})`)}`)}`),
  ),
  tanh: elementwise(
    'tanh',
    'Math.tanh(x0)',
    (g, _, out) => [() => g.mul(out.mul(out).neg().add(1))],
    floatOut,
    ([t], _, out) => t!.mul(out.mul(out).neg().add(1)),
    ([t], _x, y, r) => r(`${t} * ${r(`${r(`-${r(`${y} * ${y}`)}`)} + 1`)}`),
  ),
  // d/dx σ(x) = σ(x)(1 − σ(x)), written on the output node itself, which is a
  // function of x in the graph: the second derivative stays exact.
  sigmoid: elementwise(
    'sigmoid',
    '1 / (1 + Math.exp(-x0))',
    (g, _, out) => [() => g.mul(out.mul(out.neg().add(1)))],
    floatOut,
    ([t], _, out) => t!.mul(out.mul(out.neg().add(1))),
    ([t], _x, y, r) => r(`${t} * ${r(`${y} * ${r(`${r(`-${y}`)} + 1`)}`)}`),
  ),
  // Math.max, not a ternary: no branch to mispredict on the half of activations
  // that are negative. relu(−∞) = 0 and NaN stays NaN. The gradient's mask is
  // read off the output (y > 0 exactly where x > 0, NaN included), so a
  // compiled step keeps only y: the input (a conv or dense result plus its
  // bias) is fused into relu's loop instead of stored for the backward pass.
  relu: elementwise(
    'relu',
    'Math.max(x0, 0)',
    (g, _x, out) => [() => g.mul(out.gt(0))],
    undefined,
    ([t], _x, out) => t!.mul(out.gt(0)),
    ([t], _x, y, r) => r(`${t} * ${r(`+(${y} > 0)`)}`),
  ),
  // d/dx erf(x) = 2/√π · e^(−x²), in tensor ops, so every higher order follows.
  erf: elementwise(
    'erf',
    erfExpr,
    (g, [x]) => [
      () =>
        g.mul(
          x!
            .mul(x!)
            .neg()
            .exp()
            .mul(2 / Math.sqrt(Math.PI)),
        ),
    ],
    floatOut,
    ([t], [x]) =>
      t!.mul(
        x!
          .mul(x!)
          .neg()
          .exp()
          .mul(2 / Math.sqrt(Math.PI)),
      ),
  ),

  add: elementwise(
    'add',
    'x0 + x1',
    (g) => [() => g, () => g],
    undefined,
    ([ta, tb]) => total([ta, tb]),
    ([ta, tb], _x, _y, r) => sumOf([ta, tb], r),
  ),
  sub: elementwise(
    'sub',
    'x0 - x1',
    (g) => [() => g, () => g.neg()],
    undefined,
    ([ta, tb]) => (ta && tb ? ta.sub(tb) : (ta ?? tb!.neg())),
    ([ta, tb], _x, _y, r) => (ta && tb ? r(`${ta} - ${tb}`) : (ta ?? r(`-${tb}`))),
  ),
  mul: elementwise(
    'mul',
    'x0 * x1',
    (g, [a, b]) => [() => g.mul(b!), () => g.mul(a!)],
    undefined,
    ([ta, tb], [a, b]) => total([ta?.mul(b!), tb?.mul(a!)]),
    ([ta, tb], [a, b], _y, r) => sumOf([ta && r(`${ta} * ${b}`), tb && r(`${tb} * ${a}`)], r),
  ),
  div: elementwise(
    'div',
    'x0 / x1',
    (g, [a, b]) => [() => g.div(b!), () => g.mul(a!).div(b!.mul(b!)).neg()],
    floatOut,
    ([ta, tb], [a, b]) => total([ta?.div(b!), tb?.mul(a!).div(b!.mul(b!)).neg()]),
    ([ta, tb], [a, b], _y, r) =>
      sumOf(
        [ta && r(`${ta} / ${b}`), tb && r(`-${r(`${r(`${tb} * ${a}`)} / ${r(`${b} * ${b}`)}`)}`)],
        r,
      ),
  ),
  pow: elementwise(
    'pow',
    'Math.pow(x0, x1)',
    // b·a^(b−1) is 0·a⁻¹ = NaN at a = 0 when b = 0, and ∂/∂b = aᵇ·log a is
    // 0·(−∞) at a = 0: both are 0. The guards sit inside the expressions, not
    // only around them, so that no order of derivative meets a NaN either.
    (g, [a, b], out) => [
      () => g.mul(b!).mul(a!.pow(where(b!.eq(0), 1, b!.sub(1)))),
      () => {
        const zero = a!.eq(0);
        return g.mul(out).mul(where(zero, 0, where(zero, 1, a!).log()));
      },
    ],
    floatOut,
    ([ta, tb], [a, b], out) => {
      const zero = a!.eq(0);
      return total([
        ta?.mul(b!).mul(a!.pow(where(b!.eq(0), 1, b!.sub(1)))),
        tb?.mul(out).mul(where(zero, 0, where(zero, 1, a!).log())),
      ]);
    },
  ),
  maximum: elementwise(
    'maximum',
    '(x0 >= x1 || x0 !== x0 ? x0 : x1)',
    (g, [a, b]) => {
      const mask = a!.ge(b!);
      return [() => g.mul(mask), () => g.mul(mask.neg().add(1))];
    },
    undefined,
    ([ta, tb], [a, b]) => {
      const mask = a!.ge(b!);
      return total([ta?.mul(mask), tb?.mul(mask.neg().add(1))]);
    },
  ),
  minimum: elementwise(
    'minimum',
    '(x0 <= x1 || x0 !== x0 ? x0 : x1)',
    (g, [a, b]) => {
      const mask = a!.le(b!);
      return [() => g.mul(mask), () => g.mul(mask.neg().add(1))];
    },
    undefined,
    ([ta, tb], [a, b]) => {
      const mask = a!.le(b!);
      return total([ta?.mul(mask), tb?.mul(mask.neg().add(1))]);
    },
  ),

  eq: elementwise('eq', '+(x0 === x1)'),
  ne: elementwise('ne', '+(x0 !== x1)'),
  lt: elementwise('lt', '+(x0 < x1)'),
  le: elementwise('le', '+(x0 <= x1)'),
  gt: elementwise('gt', '+(x0 > x1)'),
  ge: elementwise('ge', '+(x0 >= x1)'),

  where: elementwise(
    'where',
    '(x0 !== 0 ? x1 : x2)',
    (g, [c]) => [null, () => where(c!, g, 0), () => where(c!, 0, g)],
    ([, a, b]) => promote(a!.dtype, b!.dtype),
    ([, ta, tb], [c]) => (ta || tb ? where(c!, ta ?? 0, tb ?? 0) : null),
  ),
};

/** Converts values to another dtype (float to int32 truncates toward zero). */
export const castOp = defineOp<DType>({
  name: 'cast',
  expr: 'x0',
  infer: ([x], dtype) => ({ shape: x!.shape, dtype }),
  kernel: (inputs, out) => elementwiseKernel('x0', inputs, out),
  vjp: (g, [x]) => [() => g.cast(x!.dtype)],
  // A float cast to int32 has no tangent.
  jvp: ([t], _, out) => (isFloat(out.dtype) ? t!.cast(out.dtype) : null),
  batch: ([x], _, dtype) => x!.cast(dtype),
  describe: (dtype) => dtype,
});

// ---- functions ---------------------------------------------------------------

type UnaryName =
  | 'neg'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'abs'
  | 'sign'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'erf';
type BinaryName = Exclude<keyof typeof ops, UnaryName | 'where'>;

export function unary(name: UnaryName, x: Tensor): Tensor {
  return apply(ops[name], [x], undefined);
}

export function binary(name: BinaryName, a: Operand, b: Operand): Tensor {
  return apply(ops[name], liftPair(a, b), undefined);
}

/**
 * Picks `a` where `cond` is non-zero and `b` elsewhere, broadcasting all three.
 *
 * @example
 * where(x.gt(0), x, x.mul(0.01)); // leaky ReLU
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  const [ta, tb] = liftPair(a, b);
  return apply(ops.where, [cond, ta, tb], undefined);
}

/** Converts to `dtype`; a no-op when it already is. */
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : apply(castOp, [x], assertDType(dtype));
}

export { lift };
