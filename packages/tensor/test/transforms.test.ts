import { describe, expect, it } from 'vitest';
import {
  apply,
  CompileError,
  compile,
  customVjp,
  defineOp,
  grad,
  hessian,
  hvp,
  jacfwd,
  jacobian,
  jacrev,
  jvp,
  matmul,
  stopGradient,
  type Tensor,
  TransformError,
  tensor,
  valueAndGrad,
  vjp,
  vmap,
} from '../src/index.js';
import { uniform } from './support.js';

/**
 * The transforms against closed forms and central differences in float64
 * (1e-9 relative), on functions of several arguments with broadcasting, and
 * composed with each other and with grad.
 */

const f64 = { dtype: 'float64' } as const;
const u = uniform;
const flat = (t: Tensor): number[] => Array.from(t.data);

function expectClose(actual: Tensor | number[], expected: Tensor | number[], tol = 1e-9): void {
  const a = Array.isArray(actual) ? actual : flat(actual);
  const e = Array.isArray(expected) ? expected : flat(expected);
  if (!Array.isArray(actual) && !Array.isArray(expected))
    expect(actual.shape).toEqual(expected.shape);
  expect(a.length).toBe(e.length);
  let worst = 0;
  a.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - e[i]!) / Math.max(1, Math.abs(v), Math.abs(e[i]!)));
  });
  expect(worst).toBeLessThanOrEqual(tol);
}

/** ∂f(xs)[i]/∂xs[k][j] by Richardson-extrapolated central differences, as [...out, ...x_k]. */
function numericJacobian(f: (...xs: Tensor[]) => Tensor, xs: Tensor[], k: number): number[] {
  const x = xs[k]!;
  const out = f(...xs);
  const cols: number[][] = [];
  for (let j = 0; j < x.size; j++) {
    const at = (s: number) => {
      const d = Float64Array.from(x.data);
      d[j]! += s;
      const args = xs.slice();
      args[k] = tensor(d, { shape: x.shape as number[] });
      return flat(f(...args));
    };
    const central = (h: number) => at(h).map((v, i) => (v - at(-h)[i]!) / (2 * h));
    const [d1, d2] = [central(1e-3), central(5e-4)];
    cols.push(d2.map((v, i) => (4 * v - d1[i]!) / 3));
  }
  const J: number[] = [];
  for (let i = 0; i < out.size; i++) for (let j = 0; j < x.size; j++) J.push(cols[j]![i]!);
  return J;
}

// f: two arguments, broadcasting [3,1] against [4], non-linear in both.
const f = (a: Tensor, b: Tensor) =>
  a
    .mul(b)
    .sin()
    .add(a.exp().div(b.square().add(1)));
const a0 = u([3, 1], 1);
const b0 = u([4], 2);
// a scalar function of two arguments for Hessians
const s = (x: Tensor, y: Tensor) => x.square().mul(y.sum()).add(x.mul(y.exp()).sum().sin()).sum();
const x0 = u([3], 3);
const y0 = u([3], 4);

describe('vjp', () => {
  it('returns the output and a pullback that agrees with central differences', () => {
    const [out, pullback] = vjp(f, a0, b0);
    expectClose(out, f(a0, b0), 0);
    const ct = u([3, 4], 5);
    const [da, db] = pullback(ct);
    const Ja = numericJacobian(f, [a0, b0], 0);
    const Jb = numericJacobian(f, [a0, b0], 1);
    const c = flat(ct);
    const vJ = (J: number[], n: number) =>
      Array.from({ length: n }, (_, j) => c.reduce((acc, ci, i) => acc + ci * J[i * n + j]!, 0));
    expectClose(da!, vJ(Ja, 3));
    expectClose(db!, vJ(Jb, 4));
    expect(da!.shape).toEqual([3, 1]);
  });

  it('pulls back several cotangents from one evaluation, and composes: vjp of vjp', () => {
    const [, pullback] = vjp((x: Tensor) => x.pow(3), x0);
    expectClose(pullback(tensor([1, 0, 0], f64))[0]!, [3 * x0.data[0]! ** 2, 0, 0]);
    // d/dx of <v, 3x²> = 6 x v, by differentiating the pullback
    const v = u([3], 6);
    const [, outer] = vjp((x: Tensor) => vjp((z: Tensor) => z.pow(3), x)[1](v)[0]!, x0);
    expectClose(outer(tensor([1, 1, 1], f64))[0]!, x0.mul(v).mul(6));
  });
});

describe('jvp', () => {
  it('agrees with central differences on several arguments with broadcasting', () => {
    const ta = u([3, 1], 7);
    const tb = u([4], 8);
    const [out, t] = jvp(f, [a0, b0], [ta, tb]);
    expectClose(out, f(a0, b0), 0);
    const Ja = numericJacobian(f, [a0, b0], 0);
    const Jb = numericJacobian(f, [a0, b0], 1);
    const dir = (J: number[], v: number[], n: number) =>
      Array.from({ length: 12 }, (_, i) => v.reduce((acc, vj, j) => acc + J[i * n + j]! * vj, 0));
    const expected = dir(Ja, flat(ta), 3).map((v, i) => v + dir(Jb, flat(tb), 4)[i]!);
    expectClose(t, expected);
  });

  it('is a closed form on sin: d sin(x)·v = cos(x)·v', () => {
    const v = u([3], 9);
    expectClose(jvp((x: Tensor) => x.sin(), [x0], [v])[1], x0.cos().mul(v));
  });

  it('gives zeros for an output that does not depend on the primals', () => {
    const [, t] = jvp((x: Tensor) => x.mul(0).detach().add(1), [x0], [x0]);
    expect(flat(t)).toEqual([0, 0, 0]);
  });

  it('nests without confusing levels: d/dx [d/dy (x·y)] = 1', () => {
    const inner = (x: Tensor) =>
      jvp((y: Tensor) => x.mul(y), [tensor([2], f64)], [tensor([1], f64)])[1];
    expect(jvp(inner, [tensor([3], f64)], [tensor([1], f64)])[1].item()).toBe(1);
    // third derivative of x⁴ at 2 by three nested jvps: 24·2 = 48
    const d = (g: (x: Tensor) => Tensor) => (x: Tensor) => jvp(g, [x], [tensor([1], f64)])[1];
    expect(d(d(d((x) => x.pow(4))))(tensor([2], f64)).item()).toBeCloseTo(48, 9);
  });

  it('composes with grad both ways: grad of jvp and jvp of grad give H·v', () => {
    const v = u([3], 10);
    const g = (x: Tensor) => grad((z: Tensor) => s(z, y0))(x);
    const fwdOverRev = jvp(g, [x0], [v])[1];
    const revOverFwd = grad((x: Tensor) => jvp((z: Tensor) => s(z, y0), [x], [v])[1])(x0);
    const H = hessian((z: Tensor) => s(z, y0))(x0) as Tensor;
    const Hv = matmul(H, v);
    expectClose(fwdOverRev, Hv);
    expectClose(revOverFwd, Hv);
  });

  it('costs one forward pass: ops on the tangent, not a second evaluation per input', () => {
    let calls = 0;
    const counted = (x: Tensor) => {
      calls++;
      return x.sin().sum();
    };
    jvp(counted, [u([1000], 11)], [u([1000], 12)]);
    expect(calls).toBe(1);
  });
});

describe('jacrev, jacfwd, jacobian', () => {
  it('agree with each other and with central differences, per argument', () => {
    for (const J of [jacrev(f), jacfwd(f), jacobian(f)]) {
      const [Ja, Jb] = J(a0, b0) as Tensor[];
      expect(Ja!.shape).toEqual([3, 4, 3, 1]);
      expect(Jb!.shape).toEqual([3, 4, 4]);
      expectClose(flat(Ja!), numericJacobian(f, [a0, b0], 0));
      expectClose(flat(Jb!), numericJacobian(f, [a0, b0], 1));
    }
  });

  it('closed form: the Jacobian of x ↦ W x is W; of x ↦ x² is diag(2x)', () => {
    const W = u([2, 3], 13);
    expectClose(jacrev((x: Tensor) => matmul(W, x))(x0) as Tensor, W);
    expectClose(jacfwd((x: Tensor) => matmul(W, x))(x0) as Tensor, W);
    const d = jacrev((x: Tensor) => x.square())(x0) as Tensor;
    const v = flat(x0);
    expectClose(d, [2 * v[0]!, 0, 0, 0, 2 * v[1]!, 0, 0, 0, 2 * v[2]!]);
  });

  it('compose: jacfwd(jacrev(f)) is the Hessian', () => {
    const g = (x: Tensor) => s(x, y0);
    expectClose(jacfwd(jacrev(g) as (x: Tensor) => Tensor)(x0) as Tensor, hessian(g)(x0) as Tensor);
    expectClose(jacrev(jacrev(g) as (x: Tensor) => Tensor)(x0) as Tensor, hessian(g)(x0) as Tensor);
  });
});

describe('hessian and hvp', () => {
  it('closed form: the Hessian of Σx³ is diag(6x)', () => {
    const H = hessian((x: Tensor) => x.pow(3).sum())(x0) as Tensor;
    const v = flat(x0);
    expectClose(H, [6 * v[0]!, 0, 0, 0, 6 * v[1]!, 0, 0, 0, 6 * v[2]!]);
  });

  it('of several arguments, block by block, against central differences of the gradient', () => {
    const H = hessian(s)(x0, y0) as Tensor[][];
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 2; j++) {
        const gi = (x: Tensor, y: Tensor) => (grad(s)(x, y) as Tensor[])[i]!;
        expect(H[i]![j]!.shape).toEqual([3, 3]);
        expectClose(flat(H[i]![j]!), numericJacobian(gi, [x0, y0], j), 1e-8);
      }
    }
    // symmetric
    expectClose(H[0]![1]!, H[1]![0]!.T);
  });

  it('hvp is H·v without forming H, and returns the value', () => {
    const v = u([3], 14);
    const w = u([3], 15);
    const [value, [hx, hy]] = hvp(s, [x0, y0], [v, w]);
    expectClose(value, s(x0, y0), 0);
    const H = hessian(s)(x0, y0) as Tensor[][];
    expectClose(hx!, matmul(H[0]![0]!, v).add(matmul(H[0]![1]!, w)));
    expectClose(hy!, matmul(H[1]![0]!, v).add(matmul(H[1]![1]!, w)));
  });

  it('of a non-scalar function says so', () => {
    expect(() => hessian((x: Tensor) => x.square())(x0)).toThrow(TransformError);
    expect(() => hessian((x: Tensor) => x.square())(x0)).toThrow(
      /hessian: f returned a tensor of shape \[3\]; hessian needs a scalar function/,
    );
    expect(() => hvp((x: Tensor) => x.square(), [x0], [x0])).toThrow(/hvp: .*\[3\].*scalar/);
  });
});

describe('customVjp and stopGradient', () => {
  const clipped = customVjp(
    (x: Tensor) => x.mul(3),
    (x: Tensor) => [x.mul(3), [x]],
    (_res, g) => [g.clip(-1, 1)],
  );

  it('uses the given gradient, and the plain function when nothing is differentiated', () => {
    expect(flat(clipped(tensor([1, 2], f64)))).toEqual([3, 6]);
    const g = grad((x: Tensor) =>
      clipped(x)
        .mul(tensor([0.5, 4], f64))
        .sum(),
    )(tensor([1, 2], f64));
    expect(flat(g)).toEqual([0.5, 1]);
  });

  it('differentiates again through bwd, which is written in tensor ops', () => {
    // a hand-written gradient of sin: bwd(res, g) = g·cos(x); the second derivative is −sin
    const mySin = customVjp(
      (x: Tensor) => x.sin(),
      (x: Tensor) => [x.sin(), [x]],
      ([x], g) => [g.mul(x!.cos())],
    );
    const d2 = grad((x: Tensor) => grad((z: Tensor) => mySin(z).sum())(x).sum())(x0);
    expectClose(d2, x0.sin().neg());
    // and a wrong-on-purpose bwd is what grad sees
    const wrong = customVjp(
      (x: Tensor) => x,
      (x: Tensor) => [x, []],
      (_r, g) => [g.mul(7)],
    );
    expect(flat(grad((x: Tensor) => wrong(x).sum())(tensor([1], f64)))).toEqual([7]);
  });

  it('refuses a bwd of the wrong arity or shape, naming it', () => {
    const bad = customVjp(
      (x: Tensor) => x,
      (x: Tensor) => [x, []],
      (_r, g) => [g, g],
    );
    expect(() => grad((x: Tensor) => bad(x).sum())(x0)).toThrow(
      /bwd returned an array; it must return one gradient .* 1 inputs/,
    );
    const shape = customVjp(
      (x: Tensor) => x,
      (x: Tensor) => [x, []],
      (_r, g) => [g.sum()],
    );
    expect(() => grad((x: Tensor) => shape(x).sum())(x0)).toThrow(
      /bwd's gradient 0 is a tensor of shape \[\] but input 0 has shape \[3\]/,
    );
  });

  it('works under vmap and jvp: per-example custom gradients, and forward mode through fwd', () => {
    const X = u([4, 2], 27).mul(3);
    const per = vmap(grad((x: Tensor) => clipped(x).mul(x).sum()))(X) as Tensor;
    // d/dx [clipped(x)·x] with clipped's gradient replaced: clip(x, -1, 1) + 3x
    expectClose(per, X.clip(-1, 1).add(X.mul(3)), 1e-12);
    expectClose(jvp((x: Tensor) => clipped(x), [x0], [y0])[1], y0.mul(3));
  });

  it('stopGradient stops gradients and tangents', () => {
    const h = (x: Tensor) => x.mul(stopGradient(x)).sum();
    expectClose(grad(h)(x0), x0);
    expectClose(jvp(h, [x0], [tensor([1, 1, 1], f64)])[1], x0.sum());
  });
});

describe('vmap composes', () => {
  it('vmap(grad) against a loop of grads; grad of vmap; jvp of vmap; vmap of jvp', () => {
    const W = u([4, 3], 16);
    const X = u([5, 3], 17);
    const loss = (w: Tensor, x: Tensor) => matmul(w, x).tanh().square().sum();
    const per = vmap(grad(loss), { inAxes: [null, 0] })(W, X) as Tensor[];
    const loop = [0, 1, 2, 3, 4].map(
      (i) => (grad(loss)(W, X.narrow(0, i, 1).reshape([3])) as Tensor[])[0]!,
    );
    expect(per[0]!.shape).toEqual([5, 4, 3]);
    loop.forEach((g, i) => {
      expectClose(per[0]!.narrow(0, i, 1).reshape([4, 3]), g, 1e-12);
    });
    // grad of a vmapped loss is the sum of the per-example gradients
    const total = grad((w: Tensor) => (vmap(loss, { inAxes: [null, 0] })(w, X) as Tensor).sum())(W);
    expectClose(total, per[0]!.sum(0), 1e-12);
    // jvp of vmap and vmap of jvp
    const V = u([4, 3], 18);
    const [, t1] = jvp((w: Tensor) => vmap(loss, { inAxes: [null, 0] })(w, X) as Tensor, [W], [V]);
    const t2 = vmap((x: Tensor) => jvp((w: Tensor) => loss(w, x), [W], [V])[1])(X) as Tensor;
    expectClose(t1, t2, 1e-12);
    expectClose(t1, per[0]!.mul(V).sum([1, 2]), 1e-12);
  });

  it('vmap(grad) runs compiled, with the same bits as eager', () => {
    const W = u([4, 3], 19);
    const X = u([6, 3], 20);
    const loss = (w: Tensor, x: Tensor) => matmul(w, x).sigmoid().sum();
    const step = (w: Tensor, x: Tensor) =>
      (vmap(grad(loss), { inAxes: [null, 0] })(w, x) as Tensor[])[0]!;
    const c = compile(step);
    expect(flat(c(W, X) as Tensor)).toEqual(flat(step(W, X)));
    const X2 = u([6, 3], 21);
    expect(flat(c(W, X2) as Tensor)).toEqual(flat(step(W, X2)));
  });

  it('a compiled function called inside jvp or vmap runs as written, so the transform sees it', () => {
    const c = compile((x: Tensor) => x.sin().mul(x));
    c(x0); // traced once outside
    const v = u([3], 23);
    expectClose(
      jvp((x: Tensor) => c(x) as Tensor, [x0], [v])[1],
      jvp((x: Tensor) => x.sin().mul(x), [x0], [v])[1],
    );
    const X = u([4, 3], 24);
    expectClose(vmap((x: Tensor) => c(x) as Tensor)(X) as Tensor, X.sin().mul(X), 0);
  });

  it('backward() of a batched tensor is refused: per-example gradients come from grad', () => {
    const w = u([3], 25).requireGrad();
    expect(() =>
      vmap((x: Tensor) => {
        x.mul(w).sum().backward();
        return x;
      })(u([4, 3], 26)),
    ).toThrow(/vmap: backward\(\) of a batched tensor of shape \[\] .* grad/);
  });

  it('nested vmap is a vmap over two axes', () => {
    const A = u([2, 3, 4], 22);
    const g = vmap(vmap((x: Tensor) => x.exp().sum()));
    expectClose(g(A) as Tensor, A.exp().sum(2), 1e-12);
  });
});

describe('bad input names the transform, the argument and the shapes', () => {
  it('a function returning a non-tensor', () => {
    const bad = (() => 3) as unknown as (x: Tensor) => Tensor;
    expect(() => jvp(bad, [x0], [x0])).toThrow(/jvp: f returned a number, not a Tensor/);
    expect(() => vjp(bad, x0)).toThrow(/vjp: f returned a number, not a Tensor/);
    expect(() => jacrev(bad)(x0)).toThrow(/jacrev: f returned a number, not a Tensor/);
    expect(() => jacfwd(bad)(x0)).toThrow(/jacfwd: f returned a number, not a Tensor/);
    expect(() => hessian(bad)(x0)).toThrow(/hessian: f returned a number, not a Tensor/);
    expect(() => vmap(bad)(u([2, 3], 1))).toThrow(/vmap: f returned a number, not a Tensor/);
    // grad too, even though nothing is left to differentiate
    expect(() => grad(bad)(x0)).toThrow(/grad: f returned a number, not a Tensor/);
    expect(() => grad(f)(a0, [1, 2] as unknown as Tensor)).toThrow(
      /grad: argument 1 is an array, not a Tensor/,
    );
  });

  it('grad of a function that does not depend on its arguments is zero, if it is a float scalar', () => {
    expect(flat(grad(() => tensor(2))(x0) as Tensor)).toEqual([0, 0, 0]);
    expect(() => grad(() => tensor([1, 2]))(x0)).toThrow(
      /grad: output has shape \[2\]; only a scalar/,
    );
    expect(() => grad(() => tensor(1, { dtype: 'int32' }))(x0)).toThrow(
      /grad: cannot differentiate an int32 tensor/,
    );
  });

  it('tangents whose shapes differ from the primals', () => {
    expect(() => jvp(f, [a0, b0], [a0, a0])).toThrow(TransformError);
    expect(() => jvp(f, [a0, b0], [a0, a0])).toThrow(
      /jvp: tangent 1 has shape \[3, 1\] but primal 1 has shape \[4\]/,
    );
    expect(() => jvp(f, [a0, b0], [a0])).toThrow(/jvp: 2 primals but 1 tangents/);
    expect(() => hvp(s, [x0, y0], [x0, b0])).toThrow(
      /hvp: tangent 1 has shape \[4\] but primal 1 has shape \[3\]/,
    );
    expect(() => vjp(f, a0, b0)[1](u([4], 1))).toThrow(
      /vjp: the cotangent is a tensor of shape \[4\] but f's output has shape \[3, 4\]/,
    );
  });

  it('axes that do not exist, and inAxes of the wrong length', () => {
    const X = u([5, 3], 1);
    expect(() => vmap((x: Tensor) => x, { inAxes: [2] })(X)).toThrow(
      /vmap: inAxes\[0\] = 2 is not an axis of argument 0 of shape \[5, 3\]/,
    );
    expect(() => vmap((x: Tensor, y: Tensor) => x.add(y), { inAxes: [0] })(X, X)).toThrow(
      /vmap: inAxes has 1 entries for 2 arguments \(shapes \[5, 3\], \[5, 3\]\)/,
    );
    expect(() => vmap((x: Tensor, y: Tensor) => x.add(y))(X, u([4, 3], 2))).toThrow(
      /vmap: argument 1 of shape \[4, 3\] has 4 entries along inAxes\[1\] = 0, but argument 0 of shape \[5, 3\] has 5/,
    );
    expect(() => vmap((x: Tensor) => x, { outAxes: 3 })(X)).toThrow(
      /vmap: outAxes\[0\] = 3 is not an axis of output 0, of shape \[5, 3\]/,
    );
    expect(() => vmap((x: Tensor) => x, { inAxes: [null] })(X)).toThrow(
      /vmap: inAxes are all null/,
    );
  });

  it('shape errors inside vmap show the shapes f sees, and reads of batched values are refused', () => {
    expect(() => vmap((x: Tensor) => x.add(u([4], 1)))(u([5, 3], 2))).toThrow(
      /add: .*\[3\], \[4\]/,
    );
    expect(() => vmap((x: Tensor) => (x.sum().item() > 0 ? x : x.neg()))(u([5, 3], 2))).toThrow(
      /vmap: item\(\) reads the values of a batched tensor of shape \[\]/,
    );
  });

  it('non-tensor and integer arguments', () => {
    expect(() => jacrev(f)(a0, 3 as unknown as Tensor)).toThrow(
      /jacrev: argument 1 is a number, not a Tensor/,
    );
    expect(() => jvp(f, [a0, tensor([1], { dtype: 'int32' })], [a0, a0])).toThrow(
      /jvp: primal 1 is an int32 tensor of shape \[1\]; only float tensors can be differentiated/,
    );
    expect(() => vmap(f)(a0, 'x' as unknown as Tensor)).toThrow(
      /vmap: argument 1 is a string, not a Tensor/,
    );
  });

  it('compile still refuses reads inside a transformed step', () => {
    const c = compile((x: Tensor) => grad((z: Tensor) => z.square().sum())(x).mul(x.sum().item()));
    expect(() => c(x0)).toThrow(CompileError);
  });

  it('valueAndGrad still refuses a non-scalar, and an op without rules is named', () => {
    expect(() => valueAndGrad((x: Tensor) => x)(x0)).toThrow(/only a scalar/);
    // an op defined outside the package with a VJP only
    const twice = defineOp({
      name: 'twice',
      infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      kernel:
        () =>
        (o, [a]) => {
          for (let i = 0; i < o.length; i++) o[i] = 2 * a![i]!;
        },
      vjp: (g) => [() => g.mul(2)],
    });
    const h = (x: Tensor) => apply(twice, [x], undefined).sum();
    expect(flat(grad(h)(x0))).toEqual([2, 2, 2]);
    expect(() => jvp(h, [x0], [x0])).toThrow(/jvp: op twice has no JVP rule/);
    expect(() => vmap(h)(u([2, 3], 1))).toThrow(/vmap: op twice has no batching rule/);
    // with a JVP but no batching rule, Jacobians take one pass per unit vector instead
    const thrice = defineOp({
      name: 'thrice',
      infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      kernel:
        () =>
        (o, [a]) => {
          for (let i = 0; i < o.length; i++) o[i] = 3 * a![i]!;
        },
      vjp: (g) => [() => g.mul(3)],
      jvp: ([t]) => t!.mul(3),
    });
    const k = (x: Tensor) => apply(thrice, [x.square()], undefined);
    const expected = [6 * x0.data[0]!, 0, 0, 0, 6 * x0.data[1]!, 0, 0, 0, 6 * x0.data[2]!];
    expectClose(jacrev(k)(x0) as Tensor, expected);
    expectClose(jacfwd(k)(x0) as Tensor, expected);
  });
});
