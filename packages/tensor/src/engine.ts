import { checkAnomaly, isAnomalyDetectionEnabled } from './anomaly.js';
import { kernelOutput } from './dtype.js';
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
  /** Called before user code reads `t`'s values (`how`: `item()`, `toArray()`, `data`); may throw. */
  read?(t: Tensor, how: string): void;
  /** Called before a constructor fills a new tensor from JavaScript values (`what`: its name); may throw. */
  fill?(what: string): void;
  /** Called before `t.grad` changes from `from` to `to` (`backward()`, `zeroGrad()`); may throw. */
  grad?(t: Tensor, from: Tensor | null, to: Tensor | null): void;
}

let tracer: Tracer | null = null;

/** Whether a tracer is recording: a compiled function called now runs eagerly, so it is recorded too. */
export function isTracing(): boolean {
  return tracer !== null;
}

/** Tells the tracer that `t.grad` is about to change from `from` to `to`. */
export function traceGrad(t: Tensor, from: Tensor | null, to: Tensor | null): void {
  tracer?.grad?.(t, from, to);
}

/** Checks that transforms install for the duration of a call (vmap refuses reads of a batched tensor). */
const readChecks: ((t: Tensor, how: string) => void)[] = [];

/** Whether reading values must be checked now: one comparison on the hot path when nothing is installed. */
export function readsGuarded(): boolean {
  return tracer !== null || readChecks.length > 0;
}

/** Throws if `t`'s values must not be read now (`how` says how they were read). */
export function guardRead(t: Tensor, how: string): void {
  tracer?.read?.(t, how);
  for (const check of readChecks) check(t, how);
}

/** Throws if a tensor must not be filled from JavaScript values now (`what` names the constructor). */
export function guardFill(what: string): void {
  tracer?.fill?.(what);
}

/** Runs `fn` with an extra read check installed. */
export function withReadCheck<T>(check: (t: Tensor, how: string) => void, fn: () => T): T {
  readChecks.push(check);
  try {
    return fn();
  } finally {
    readChecks.pop();
  }
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

/** Set while a transform (jvp, vmap) runs: every op goes through its rules first. */
let transformed: (<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A) => Tensor) | null = null;

/** Whether a transform (jvp, vmap) is running: a compiled function then runs as written, so the transform sees its ops. */
export function isTransforming(): boolean {
  return transformed !== null;
}

/** Installs (or, with null, removes) the transforms' interpreter of ops. */
export function setTransformed(
  fn: (<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A) => Tensor) | null,
): void {
  transformed = fn;
}

/** Transforms register here to carry their data from a tensor to its detached copy. */
export const detachHooks: ((from: Tensor, to: Tensor) => void)[] = [];

/**
 * Runs a primitive op: shape rule, kernel, and (while any input needs a
 * gradient and grad mode is on) a graph node pointing at the inputs. Under
 * a transform, the op goes through the transform's rules.
 */
export function apply<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  if (transformed !== null) return transformed(op, inputs, attrs);
  return applyPlain(op, inputs, attrs);
}

/** `apply` without transforms: the op on the values it is given. */
export function applyPlain<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  const spec = op.infer(inputs, attrs);
  let data: Tensor['storage'];
  if (op.alias) {
    data = inputs[0]!.storage;
  } else {
    data = kernelOutput(spec.dtype, sizeOf(spec.shape));
    op.kernel(
      inputs,
      spec,
      attrs,
    )(
      data,
      inputs.map((t) => t.storage),
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
  if (target.storage === value.storage) return;
  if (target.size !== value.size) {
    throw new RangeError(
      `assign: sizes differ: [${target.shape.join(', ')}] <- [${value.shape.join(', ')}]`,
    );
  }
  target.storage.set(value.storage);
  tracer?.assign(target, value);
}
