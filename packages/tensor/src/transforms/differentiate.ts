import { differentiable, freshLeaf, topoOrder, valueAndGrad, vjpAll } from '../autograd.js';
import { arange, zeros } from '../create.js';
import { isFloat } from '../dtype.js';
import { apply } from '../engine.js';
import { fmt, TransformError } from '../errors.js';
import { isGradEnabled, withGradMode } from '../grad-mode.js';
import { defineOp, type Op } from '../op.js';
import { stack } from '../ops/movement.js';
import { sameShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { forward } from './forward.js';
import { vmap } from './vmap.js';

/**
 * Function transforms built on the op table: reverse mode (`vjp`, `jacrev`)
 * on each op's VJP, forward mode (`jvp`, `jacfwd`) on each op's JVP rule.
 * Every result is made of tensor ops, so the transforms compose with each
 * other and with `grad` to any order.
 */

type Fn = (...xs: Tensor[]) => Tensor;

/** What a value is, for messages: `a number`, `an array`, `Tensor [2, 3]`. */
function describe(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${fmt(v.shape)}`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return `${typeof v === 'object' ? 'an object' : `a ${typeof v}`}`;
}

/** Checks the arguments of a transformed function: tensors, of a float dtype. */
export function checkArgs(name: string, what: string, xs: readonly unknown[]): Tensor[] {
  xs.forEach((x, k) => {
    if (!(x instanceof Tensor)) {
      throw new TransformError(`${name}: ${what} ${k} is ${describe(x)}, not a Tensor`);
    }
    if (!isFloat(x.dtype)) {
      throw new TransformError(
        `${name}: ${what} ${k} is an ${x.dtype} tensor of shape ${fmt(x.shape)}; only float tensors can be differentiated`,
      );
    }
  });
  return xs as Tensor[];
}

/** Checks what `f` returned: a tensor (of a float dtype where it is differentiated). */
export function checkOut(name: string, out: unknown, float = true): Tensor {
  if (!(out instanceof Tensor)) {
    throw new TransformError(`${name}: f returned ${describe(out)}, not a Tensor`);
  }
  if (float && !isFloat(out.dtype)) {
    throw new TransformError(
      `${name}: f returned an ${out.dtype} tensor of shape ${fmt(out.shape)}, which has no derivative`,
    );
  }
  return out;
}

/**
 * Evaluates `f` at `primals` and returns its output with a pullback: the
 * vector-Jacobian product, mapping a cotangent of the output's shape to one
 * gradient per primal. Reverse mode, as `jax.vjp`.
 *
 * @example
 * const [y, pullback] = vjp((a, b) => a.mul(b), tensor([1, 2]), tensor([3, 4]));
 * const [da, db] = pullback(tensor([1, 1])); // [3, 4], [1, 2]
 */
export function vjp(f: Fn, ...primals: Tensor[]): [Tensor, (cotangent: Tensor) => Tensor[]] {
  checkArgs('vjp', 'primal', primals);
  const leaves = primals.map((p) => (p.requiresGrad ? p : freshLeaf(p)));
  const out = checkOut(
    'vjp',
    withGradMode(true, () => f(...leaves)),
  );
  const pullback = (cotangent: Tensor): Tensor[] => {
    if (!(cotangent instanceof Tensor) || !sameShape(cotangent.shape, out.shape)) {
      throw new TransformError(
        `vjp: the cotangent is ${describe(cotangent)} but f's output has shape ${fmt(out.shape)}`,
      );
    }
    if (!out.requiresGrad) return leaves.map((l) => zeros(l.shape, { dtype: l.dtype }));
    const order = topoOrder(out);
    const graph = differentiable(order, leaves, primals) || cotangent.requiresGrad;
    const seed = cotangent.dtype === out.dtype ? cotangent : cotangent.cast(out.dtype);
    const grads = vjpAll(out, seed, graph, new Set(leaves), order);
    return leaves.map((l) => grads.get(l) ?? zeros(l.shape, { dtype: l.dtype }));
  };
  return [out, pullback];
}

/**
 * Evaluates `f` at `primals` and, in the same forward pass, its directional
 * derivative along `tangents` (one per primal, of the primal's shape): the
 * Jacobian-vector product. Forward mode, as `jax.jvp`: it costs a small
 * constant times one evaluation of `f`, however many inputs `f` has.
 *
 * @example
 * const [y, dy] = jvp((x) => x.sin(), [tensor([0, 1])], [tensor([1, 1])]); // dy = cos(x)
 */
export function jvp(
  f: Fn,
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
): [Tensor, Tensor] {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TransformError(
      `jvp: primals and tangents must be arrays of tensors (one tangent per primal), got ${describe(primals)} and ${describe(tangents)}`,
    );
  }
  checkArgs('jvp', 'primal', primals);
  checkArgs('jvp', 'tangent', tangents);
  if (primals.length !== tangents.length) {
    throw new TransformError(
      `jvp: ${primals.length} primals but ${tangents.length} tangents; give one tangent per primal`,
    );
  }
  primals.forEach((p, k) => {
    const t = tangents[k]!;
    if (!sameShape(p.shape, t.shape)) {
      throw new TransformError(
        `jvp: tangent ${k} has shape ${fmt(t.shape)} but primal ${k} has shape ${fmt(p.shape)}`,
      );
    }
  });
  const [out, [tangent]] = forward(f, primals, tangents, (o) => [checkOut('jvp', o)]);
  return [out, tangent!];
}

/** Calls `f` and checks it returned one tensor. */
function evaluate(name: string, f: Fn, xs: readonly Tensor[]): Tensor {
  return checkOut(name, f(...xs));
}

/** One argument's result alone, several as an array: as `grad` returns. */
function single<T>(xs: readonly unknown[], results: T[]): T | T[] {
  return xs.length === 1 ? results[0]! : results;
}

/** The i-th of n unit vectors, shaped and typed as `like` (from `arange`, so a trace may make it). */
function basis(n: number, i: number, like: Tensor): Tensor {
  return arange(n).eq(i).cast(like.dtype).reshape(like.shape);
}

/** The m unit vectors of `like`'s shape, as a batch [m, ...like.shape]. */
function bases(like: Tensor): Tensor {
  const m = like.size;
  return arange(m)
    .reshape([m, 1])
    .eq(arange(m))
    .cast(like.dtype)
    .reshape([m, ...like.shape]);
}

/**
 * Runs the batched form (one pass over all unit vectors, by vmap); an op
 * without a batching rule (defined outside the package) falls back to one
 * pass per unit vector.
 */
function batchedOr<T>(batched: () => T, looped: () => T): T {
  try {
    return batched();
  } catch (e) {
    if (e instanceof TransformError && / has no batching rule/.test(e.message)) return looped();
    throw e;
  }
}

/** The Jacobians of `f` at `xs` in reverse mode: the pullback of every output unit vector, in one batched pass. */
function reverseJacobians(name: string, f: Fn, xs: readonly Tensor[]): Tensor[] {
  const [out, pullback] = vjp((...a) => evaluate(name, f, a), ...xs);
  const m = out.size;
  if (m === 0) return xs.map((x) => zeros([...out.shape, ...x.shape], { dtype: x.dtype }));
  const rows = batchedOr(
    () => {
      const r = vmap((e: Tensor) => pullback(e))(bases(out));
      return Array.isArray(r) ? r : [r];
    },
    () => {
      const each = Array.from({ length: m }, (_, i) => pullback(basis(m, i, out)));
      return xs.map((_, k) => stack(each.map((r) => r[k]!)));
    },
  );
  return xs.map((x, k) => rows[k]!.reshape([...out.shape, ...x.shape]));
}

/** The Jacobians of each output of `g` at `xs` in forward mode: one jvp per input element. */
function forwardJacobians(
  g: (...xs: Tensor[]) => Tensor[],
  xs: readonly Tensor[],
  outputs: (r: Tensor[]) => readonly Tensor[],
): Tensor[][] {
  const outs = outputs(g(...xs));
  // blocks[k][i]: the tangents of output i along every unit vector of input k, [n_k, ...out_i]
  const blocks = xs.map((x, k) => {
    if (x.size === 0) return outs.map((o) => zeros([0, ...o.shape], { dtype: o.dtype }));
    const along = (t: Tensor) =>
      forward(
        g,
        xs,
        xs.map((y, j) => (j === k ? t : zeros(y.shape, { dtype: y.dtype }))),
        outputs,
      )[1];
    return batchedOr(
      () => {
        const r = vmap((t: Tensor) => along(t))(bases(x));
        return Array.isArray(r) ? r : [r];
      },
      () => {
        const each = Array.from({ length: x.size }, (_, e) => along(basis(x.size, e, x)));
        return outs.map((_, i) => stack(each.map((c) => c[i]!)));
      },
    );
  });
  // [n_k, ...out_i] → [...out_i, ...x_k]
  return outs.map((o, i) =>
    xs.map((x, k) => {
      const b = blocks[k]![i]!;
      const order = [...o.shape.map((_, d) => d + 1), 0];
      return b.permute(order).reshape([...o.shape, ...x.shape]);
    }),
  );
}

/**
 * The Jacobian of `f` in reverse mode, one pullback per output element: for
 * f: [...in] → [...out] it has shape [...out, ...in]. One argument gives a
 * tensor, several an array (one Jacobian per argument). As `jax.jacrev`.
 *
 * @example
 * jacrev((x) => x.square())(tensor([1, 2])); // [[2, 0], [0, 4]]
 */
export function jacrev(f: Fn): (...xs: Tensor[]) => Tensor | Tensor[] {
  return (...xs) => single(xs, reverseJacobians('jacrev', f, checkArgs('jacrev', 'argument', xs)));
}

/**
 * The Jacobian of `f` in forward mode, one jvp per input element (cheaper
 * than `jacrev` when `f` has more outputs than inputs). Shapes as `jacrev`.
 *
 * @example
 * jacfwd((x) => x.square())(tensor([1, 2])); // [[2, 0], [0, 4]]
 */
export function jacfwd(f: Fn): (...xs: Tensor[]) => Tensor | Tensor[] {
  return (...xs) => {
    checkArgs('jacfwd', 'argument', xs);
    const [row] = forwardJacobians(
      (...a) => [evaluate('jacfwd', f, a)],
      xs,
      (r) => r,
    );
    return single(xs, row!);
  };
}

/**
 * The Jacobian of `f` (reverse mode), as `torch.autograd.functional.jacobian`.
 *
 * @example
 * jacobian((a, b) => a.mul(b))(tensor([1, 2]), tensor([3, 4])); // [diag(3, 4), diag(1, 2)]
 */
export function jacobian(f: Fn): (...xs: Tensor[]) => Tensor | Tensor[] {
  return (...xs) =>
    single(xs, reverseJacobians('jacobian', f, checkArgs('jacobian', 'argument', xs)));
}

/** `f`, checked to return a scalar, for the second-order transforms. */
function scalarFn(name: string, f: Fn): Fn {
  return (...xs) => {
    const y = evaluate(name, f, xs);
    if (y.size !== 1) {
      throw new TransformError(
        `${name}: f returned a tensor of shape ${fmt(y.shape)}; ${name} needs a scalar function (one element)`,
      );
    }
    return y;
  };
}

/**
 * The Hessian of scalar `f`, forward over reverse (`jacfwd` of `grad`): for
 * one argument of shape [...s] a tensor of shape [...s, ...s]; for several,
 * `H[i][j]` = ∂²f/∂xᵢ∂xⱼ of shape [...xᵢ, ...xⱼ]. As `jax.hessian`.
 *
 * @example
 * hessian((x) => x.pow(3).sum())(tensor([1, 2])); // [[6, 0], [0, 12]]
 */
export function hessian(f: Fn): (...xs: Tensor[]) => Tensor | Tensor[][] {
  return (...xs) => {
    checkArgs('hessian', 'argument', xs);
    const g = valueAndGrad(scalarFn('hessian', f));
    const blocks = forwardJacobians(
      (...a) => g(...a)[1],
      xs,
      (r) => r,
    );
    return xs.length === 1 ? blocks[0]![0]! : blocks;
  };
}

/**
 * The Hessian of scalar `f` at `primals` times `tangents` (one per primal),
 * without forming the Hessian: one forward-mode pass over the gradient.
 * Returns `f`'s value and one product per primal, as
 * `torch.autograd.functional.hvp`.
 *
 * @example
 * const [y, [hv]] = hvp((x) => x.pow(3).sum(), [tensor([1, 2])], [tensor([1, 0])]); // hv = [6, 0]
 */
export function hvp(
  f: Fn,
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
): [Tensor, Tensor[]] {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new TransformError(
      `hvp: primals and tangents must be arrays of tensors (one tangent per primal), got ${describe(primals)} and ${describe(tangents)}`,
    );
  }
  checkArgs('hvp', 'primal', primals);
  checkArgs('hvp', 'tangent', tangents);
  if (primals.length !== tangents.length) {
    throw new TransformError(
      `hvp: ${primals.length} primals but ${tangents.length} tangents; give one tangent per primal`,
    );
  }
  primals.forEach((p, k) => {
    if (!sameShape(p.shape, tangents[k]!.shape)) {
      throw new TransformError(
        `hvp: tangent ${k} has shape ${fmt(tangents[k]!.shape)} but primal ${k} has shape ${fmt(p.shape)}`,
      );
    }
  });
  const g = valueAndGrad(scalarFn('hvp', f));
  const [result, touts] = forward(
    (...a) => {
      const [value, grads] = g(...a);
      return [value, ...grads];
    },
    primals,
    tangents,
    (r) => r,
  );
  return [result[0]!, touts.slice(1)];
}

/**
 * Stops gradients (and tangents) from flowing through `x`: the same values,
 * as a constant. The functional form of `x.detach()`, as `jax.lax.stop_gradient`.
 *
 * @example
 * const target = stopGradient(model(next)); // a fixed target in a TD loss
 */
export function stopGradient(x: Tensor): Tensor {
  return x.detach();
}

/** The op a `customVjp` function's result comes from: its input 0 passed through, with the user's VJP. */
interface CustomAttrs {
  readonly name: string;
  readonly pullback: (g: Tensor) => readonly (Tensor | null)[];
}

const customVjpOp: Op<CustomAttrs> = defineOp<CustomAttrs>({
  name: 'customVjp',
  alias: true,
  infer: ([y]) => ({ shape: y!.shape, dtype: y!.dtype }),
  kernel:
    () =>
    (o, [a]) =>
      o.set(a!),
  // Input 0 is fwd's output: the user's VJP replaces the gradient through it.
  vjp: (g, _inputs, _out, { pullback }) => [
    null,
    ...pullback(g).map((d) => (d === null ? null : () => d)),
  ],
  // Forward mode differentiates fwd itself.
  jvp: ([t]) => t ?? null,
  batch: ([y]) => y!,
  describe: ({ name }) => name,
});

/**
 * A function with a gradient of your choosing, as `jax.custom_vjp`:
 * `fwd(...xs)` returns the output and residuals (tensors saved for the
 * backward pass), `bwd(residuals, g)` returns one gradient per input (null
 * for none). `f` is what runs when nothing is differentiated. `bwd` is
 * written in tensor ops, so second derivatives go through it; forward mode
 * (`jvp`) differentiates `fwd`.
 *
 * @example
 * // A gradient clipped to [-1, 1] on the way back
 * const clipGrad = customVjp(
 *   (x) => x,
 *   (x) => [x, []],
 *   (_res, g) => [g.clip(-1, 1)],
 * );
 */
export function customVjp(
  f: Fn,
  fwd: (...xs: Tensor[]) => [Tensor, Tensor[]],
  bwd: (residuals: Tensor[], g: Tensor) => readonly (Tensor | null)[],
): Fn {
  const name = `customVjp(${f.name || 'f'})`;
  return (...xs) => {
    checkArgs(name, 'argument', xs);
    if (!isGradEnabled() || !xs.some((x) => x.requiresGrad)) return checkOut(name, f(...xs), false);
    const result = fwd(...xs);
    if (!Array.isArray(result) || result.length !== 2 || !Array.isArray(result[1])) {
      throw new TransformError(
        `${name}: fwd returned ${describe(result)}; it must return [output, residuals]`,
      );
    }
    const [y, residuals] = result;
    checkOut(name, y, false);
    const pullback = (g: Tensor) => {
      const grads = bwd(residuals, g);
      if (!Array.isArray(grads) || grads.length !== xs.length) {
        throw new TransformError(
          `${name}: bwd returned ${describe(grads)}; it must return one gradient (or null) for each of the ${xs.length} inputs`,
        );
      }
      grads.forEach((d, k) => {
        if (d !== null && (!(d instanceof Tensor) || !sameShape(d.shape, xs[k]!.shape))) {
          throw new TransformError(
            `${name}: bwd's gradient ${k} is ${describe(d)} but input ${k} has shape ${fmt(xs[k]!.shape)}`,
          );
        }
      });
      return grads;
    };
    return apply(customVjpOp, [y, ...xs], { name, pullback });
  };
}
