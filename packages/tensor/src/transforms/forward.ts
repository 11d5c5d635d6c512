import { leafHooks } from '../autograd.js';
import { zeros } from '../create.js';
import { apply, isTracing } from '../engine.js';
import { TransformError } from '../errors.js';
import { isGradEnabled } from '../grad-mode.js';
import { defineOp, type Op } from '../op.js';
import { elementwiseKernel } from '../ops/elementwise.js';
import { reshapeOp } from '../ops/movement.js';
import { type Shape, sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { type Below, depth, type Frame, withFrame } from './interpreter.js';

/** The tangent of an elementwise op computed in one pass: the op's `jvpExpr` over its inputs, tangents and output. */
interface TangentAttrs {
  readonly expr: string;
  readonly shape: Shape;
}

const tangentOps = new WeakMap<Op<never>, Op<TangentAttrs>>();

/**
 * One loop over the output's shape in place of the several ops of a JVP
 * rule (sin's tangent t·cos(x) is one pass, not a cos and a product, each
 * writing a new tensor), named after the op (`sin (tangent)`) in graphs and
 * anomaly reports. It has no VJP: it runs only where nothing records a graph.
 */
function tangentOf<A>(op: Op<A>): Op<TangentAttrs> {
  let t = tangentOps.get(op as Op<never>);
  if (!t) {
    t = defineOp<TangentAttrs>({
      name: `${op.name} (tangent)`,
      infer: (inputs, { shape }) => ({ shape, dtype: inputs[0]!.dtype }),
      kernel: (inputs, out, { expr }) => elementwiseKernel(expr, inputs, out),
      describe: ({ expr }) => expr,
    });
    tangentOps.set(op as Op<never>, t);
  }
  return t;
}

const round = {
  float32: (e: string) => `Math.fround(${e})`,
  float64: (e: string) => `(${e})`,
} as const;

/**
 * The tangent of `out` by the op's `jvpExpr` in one pass, or undefined where
 * that cannot stand in for the rule's ops: under another transform or a
 * compile trace (which must see the rule's ops), where a graph is recorded
 * (the rule's ops carry gradients), or across dtypes.
 */
function fusedTangent<A>(
  op: Op<A>,
  inputs: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  out: Tensor,
  below: Below,
): Tensor | null | undefined {
  if (!op.jvpExpr || depth() !== 1 || isTracing()) return undefined;
  const dtype = out.dtype;
  if (dtype === 'int32') return undefined;
  const leaves: Tensor[] = [];
  for (const t of inputs) if (t.dtype !== dtype) return undefined;
  for (const t of tangents) if (t && t.dtype !== dtype) return undefined;
  const recording = isGradEnabled();
  if (recording && inputs.some((t) => t.requiresGrad)) return undefined;
  if (recording && tangents.some((t) => t?.requiresGrad)) return undefined;
  const name = (t: Tensor) => `x${leaves.push(t) - 1}`;
  const xs = inputs.map(name);
  const ts = tangents.map((t) => (t ? name(t) : null));
  const y = `x${leaves.length}`;
  const expr = op.jvpExpr(ts, xs, y, round[dtype]);
  if (expr === null) return null;
  // A tangent passed through (x + c, x − c) is that tensor, as the rule returns it.
  const through = ts.indexOf(expr);
  if (through >= 0 && sameShape(tangents[through]!.shape, out.shape)) return tangents[through]!;
  // Every other name has a smaller index, so none of them begins with y's.
  if (expr.includes(y)) leaves.push(out);
  return below(() => apply(tangentOf(op), leaves, { expr, shape: out.shape }));
}

/** Forward mode: each op's tangent from its inputs' tangents, by the op's JVP rule. */
export class JvpFrame implements Frame {
  readonly tangents = new WeakMap<Tensor, Tensor>();

  process<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A, below: Below): Tensor {
    const out = below(() => apply(op, inputs, attrs));
    let any = false;
    const ts = inputs.map((t) => {
      const tangent = this.tangents.get(t) ?? null;
      if (tangent) any = true;
      return tangent;
    });
    if (!any) return out;
    if (!op.jvp) {
      throw new TransformError(
        `jvp: op ${op.name} has no JVP rule (forward-mode derivative); differentiate through it with grad or vjp`,
      );
    }
    const fused = fusedTangent(op, inputs, ts, out, below);
    const tangent =
      fused !== undefined
        ? fused
        : below(() => {
            let t = op.jvp!(ts, inputs, out, attrs);
            if (t === null) return null;
            if (!sameShape(t.shape, out.shape)) t = t.broadcastTo(out.shape);
            return t.dtype === out.dtype ? t : t.cast(out.dtype);
          });
    if (tangent) this.tangents.set(out, tangent);
    return out;
  }
}

const live: JvpFrame[] = [];
// grad's fresh leaf for an argument carries the argument's tangents.
leafHooks.push((from, to) => {
  for (const frame of live) {
    const t = frame.tangents.get(from);
    if (t) frame.tangents.set(to, t);
  }
});

/**
 * Runs `f` on `primals` with `tangents` attached, in one forward pass, and
 * returns its outputs with their tangents (zeros where an output does not
 * depend on the primals).
 */
export function forward<T>(
  f: (...xs: Tensor[]) => T,
  primals: readonly Tensor[],
  tangents: readonly Tensor[],
  outputs: (result: T) => readonly Tensor[],
): [T, Tensor[]] {
  const frame = new JvpFrame();
  live.push(frame);
  try {
    return withFrame(frame, () => {
      // A fresh alias of each primal (an op, so autograd and outer transforms
      // still see the primal) carries the tangent: the same tensor passed
      // twice, or closed over elsewhere, gets no tangent by accident.
      const xs = primals.map((p, k) => {
        const x = apply(reshapeOp, [p], p.shape);
        frame.tangents.set(x, tangents[k]!);
        return x;
      });
      const result = f(...xs);
      const outs = outputs(result);
      const touts = outs.map((o) => frame.tangents.get(o) ?? zerosOf(o));
      return [result, touts] as [T, Tensor[]];
    });
  } finally {
    live.splice(live.indexOf(frame), 1);
  }
}

function zerosOf(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype });
}
