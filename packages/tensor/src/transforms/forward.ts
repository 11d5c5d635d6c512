import { isAnomalyDetectionEnabled } from '../anomaly.js';
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
 * A tangent not computed yet: an elementwise expression over `leaves`
 * (`x0`, `x1`, …), the tangent of `out`. An elementwise op reading it folds
 * the expression into its own, so a chain of elementwise ops writes one
 * tangent tensor, not one per op; anything else reads `value`.
 */
class Pending {
  private computed: Tensor | undefined;
  /** Whether an op has folded it in: a second reader computes it once instead. */
  folded = false;
  constructor(
    readonly op: Op<TangentAttrs>,
    readonly expr: string,
    readonly leaves: readonly Tensor[],
    readonly out: Tensor,
  ) {}
  /** The tensor, where it has been computed. */
  get done(): Tensor | undefined {
    return this.computed;
  }
  /** The tangent as a tensor, computed once (with only the frames below running). */
  value(below: Below): Tensor {
    this.computed ??= below(() =>
      apply(this.op, this.leaves, { expr: this.expr, shape: this.out.shape }),
    );
    return this.computed;
  }
}

type Tangent = Tensor | Pending;

/** Past this many leaves or characters, a pending tangent is computed rather than folded further. */
const MAX_LEAVES = 16;
const MAX_EXPR = 4000;

/**
 * The tangent of `out` by the op's `jvpExpr` (pending, to be folded into
 * the next elementwise op), or undefined where that cannot stand in for the
 * rule's ops: under another transform or a compile trace (which must see
 * the rule's ops), where a graph is recorded (the rule's ops carry
 * gradients), or across dtypes. With anomaly detection on, each op's
 * tangent is computed at once, so that a report names the op.
 */
function fusedTangent<A>(
  op: Op<A>,
  inputs: readonly Tensor[],
  tangents: readonly (Tangent | null)[],
  out: Tensor,
  below: Below,
): Tangent | null | undefined {
  if (!op.jvpExpr || depth() !== 1 || isTracing()) return undefined;
  const dtype = out.dtype;
  if (dtype === 'int32') return undefined;
  for (const t of inputs) if (t.dtype !== dtype) return undefined;
  for (const t of tangents) if (t && tangentDtype(t) !== dtype) return undefined;
  const recording = isGradEnabled();
  if (recording && inputs.some((t) => t.requiresGrad)) return undefined;
  if (recording && tangents.some((t) => t !== null && !(t instanceof Pending) && t.requiresGrad))
    return undefined;
  const leaves: Tensor[] = [];
  const name = (t: Tensor) => `x${leaves.push(t) - 1}`;
  const xs = inputs.map(name);
  // A pending tangent computed already (for a reader that needed a tensor) is that tensor.
  const known = tangents.map((t) => (t instanceof Pending ? (t.done ?? t) : t));
  const ts = known.map((t, k) => {
    if (t === null) return null;
    if (!(t instanceof Pending)) return name(t);
    // Folded once, over the same shape; a second reader (or a broadcast) computes it.
    const twice = known.indexOf(t) !== k;
    if (t.folded || twice || !sameShape(t.out.shape, out.shape)) return name(t.value(below));
    t.folded = true;
    const offset = leaves.length;
    leaves.push(...t.leaves);
    return `(${t.expr.replace(/\bx(\d+)\b/g, (_, i) => `x${Number(i) + offset}`)})`;
  });
  const y = `x${leaves.length}`;
  const expr = op.jvpExpr(ts, xs, y, round[dtype]);
  if (expr === null) return null;
  // A tangent passed through (x + c, x − c) is that tangent, as the rule returns it.
  const through = ts.indexOf(expr);
  const passed = through >= 0 ? known[through] : null;
  if (passed && !(passed instanceof Pending) && sameShape(passed.shape, out.shape)) return passed;
  // Every other name has a smaller index, so none of them begins with y's.
  if (expr.includes(y)) leaves.push(out);
  const pending = new Pending(tangentOf(op), expr, leaves, out);
  const big = leaves.length > MAX_LEAVES || expr.length > MAX_EXPR;
  return big || isAnomalyDetectionEnabled() ? pending.value(below) : pending;
}

function tangentDtype(t: Tangent): string {
  return t instanceof Pending ? t.out.dtype : t.dtype;
}

/** Forward mode: each op's tangent from its inputs' tangents, by the op's JVP rule. */
export class JvpFrame implements Frame {
  readonly tangents = new WeakMap<Tensor, Tangent>();

  process<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A, below: Below): Tensor {
    const out = below(() => apply(op, inputs, attrs));
    let any = false;
    const pending = inputs.map((t) => {
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
    const fused = fusedTangent(op, inputs, pending, out, below);
    const ts = () => pending.map((t) => (t instanceof Pending ? t.value(below) : t));
    const tangent =
      fused !== undefined
        ? fused
        : below(() => {
            let t = op.jvp!(ts(), inputs, out, attrs);
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
    const [result, outs] = withFrame(frame, () => {
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
      return [result, outs] as const;
    });
    // A pending tangent is computed here, with this frame gone (it only
    // arises where no frame runs below this one).
    const touts = outs.map((o) => {
      const t = frame.tangents.get(o);
      if (t === undefined) return zerosOf(o);
      return t instanceof Pending ? t.value((fn) => fn()) : t;
    });
    return [result, touts];
  } finally {
    live.splice(live.indexOf(frame), 1);
  }
}

function zerosOf(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype });
}
