import { checkAnomaly, isAnomalyDetectionEnabled } from './anomaly.js';
import { allocate } from './dtype.js';
import { isGradEnabled } from './grad-mode.js';
import type { Op } from './op.js';
import { sizeOf } from './shape.js';
import { Tensor } from './tensor.js';

/** Watches ops as they run; `compile` installs one to record a step's plan. */
export interface Tracer {
  /** Called after every op with its result. */
  op(op: Op<unknown>, inputs: readonly Tensor[], attrs: unknown, out: Tensor): void;
  /** Called when `target`'s storage is overwritten with `value`'s values. */
  assign(target: Tensor, value: Tensor): void;
}

let tracer: Tracer | null = null;

/** Whether a tracer is recording: a compiled function called now runs eagerly, so it is recorded too. */
export function isTracing(): boolean {
  return tracer !== null;
}

/** Installs a tracer for the duration of `fn`. */
export function withTracer<T>(t: Tracer, fn: () => T): T {
  const previous = tracer;
  tracer = t;
  try {
    return fn();
  } finally {
    tracer = previous;
  }
}

/**
 * Runs a primitive op: shape rule, kernel, and (while any input needs a
 * gradient and grad mode is on) a graph node pointing at the inputs.
 */
export function apply<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const spec = op.infer(inputs, attrs);
  let data: Tensor['data'];
  if (op.alias) {
    data = inputs[0]!.data;
  } else {
    data = allocate(spec.dtype, sizeOf(spec.shape));
    op.kernel(
      inputs,
      spec,
      attrs,
    )(
      data,
      inputs.map((t) => t.data),
    );
  }
  const tracked = op.vjp !== undefined && isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const out = new Tensor(data, spec.shape, spec.dtype, {
    requiresGrad: tracked,
    node: tracked ? { op: op as Op<unknown>, inputs, attrs } : null,
  });
  if (isAnomalyDetectionEnabled()) checkAnomaly(op as Op<unknown>, inputs, out);
  tracer?.op(op as Op<unknown>, inputs, attrs, out);
  return out;
}

/**
 * Overwrites `target`'s values with `value`'s, in place. This is how
 * optimisers update parameters; user code treats values as immutable.
 */
export function assignInPlace(target: Tensor, value: Tensor): void {
  if (target.data === value.data) return;
  if (target.size !== value.size) {
    throw new RangeError(
      `assign: sizes differ: [${target.shape.join(', ')}] <- [${value.shape.join(', ')}]`,
    );
  }
  target.data.set(value.data);
  tracer?.assign(target, value);
}
