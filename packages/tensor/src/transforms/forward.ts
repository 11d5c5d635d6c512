import { leafHooks } from '../autograd.js';
import { zeros } from '../create.js';
import { apply } from '../engine.js';
import { TransformError } from '../errors.js';
import type { Op } from '../op.js';
import { reshapeOp } from '../ops/movement.js';
import { sameShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { type Below, type Frame, withFrame } from './interpreter.js';

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
    const tangent = below(() => {
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
