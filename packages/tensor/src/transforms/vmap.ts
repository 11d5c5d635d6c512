import { backwardChecks, leafHooks } from '../autograd.js';
import { apply, detachHooks, withReadCheck } from '../engine.js';
import { fmt, TransformError } from '../errors.js';
import { isGradEnabled } from '../grad-mode.js';
import type { Op } from '../op.js';
import { Tensor } from '../tensor.js';
import { type Below, type Frame, withFrame } from './interpreter.js';

/**
 * vmap: `f` written for one example runs once on the whole batch. Inside,
 * each batched argument is a tensor with the example's shape standing for
 * the batch, whose values (batch axis first) the frame keeps; every op on
 * such a tensor runs as the op's batching rule on those values, so the
 * batch goes through each op once, not example by example. Autograd inside
 * `f` records the per-example graph (so `vmap(grad(f))` gives per-example
 * gradients); the batched values record the real one (so `grad` of a
 * `vmap` works too).
 */
class BatchFrame implements Frame {
  readonly values = new WeakMap<Tensor, Tensor>();
  constructor(readonly size: number) {}

  process<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A, below: Below): Tensor {
    // Most ops of a vmapped function see a batched input: one lookup per
    // input, and no arrays at all for an op on unbatched tensors only.
    let values: Tensor[] | null = null;
    let batched: boolean[] | null = null;
    for (let k = 0; k < inputs.length; k++) {
      const v = this.values.get(inputs[k]!);
      if (v === undefined) continue;
      if (values === null) {
        values = inputs.slice();
        batched = new Array<boolean>(inputs.length).fill(false);
      }
      values[k] = v;
      batched![k] = true;
    }
    if (values === null) return below(() => apply(op, inputs, attrs));
    if (!op.batch) {
      throw new TransformError(`vmap: op ${op.name} has no batching rule`);
    }
    // The shape rule on the examples' shapes: errors name the shapes f sees.
    const spec = op.infer(inputs, attrs);
    const rule = op.batch;
    const size = this.size;
    const value = below(() => rule(values, batched!, attrs, size));
    if (!isBatchOf(value.shape, size, spec.shape)) {
      throw new TransformError(
        `vmap: the batching rule of ${op.name} gave ${fmt(value.shape)} for a batch of ${size} results of shape ${fmt(spec.shape)}`,
      );
    }
    const tracked = op.vjp !== undefined && isGradEnabled() && inputs.some((t) => t.requiresGrad);
    return this.wrap(value, tracked, tracked ? { op: op as Op<unknown>, inputs, attrs } : null);
  }

  /** The per-example view of `value` (batch axis first). */
  wrap(value: Tensor, requiresGrad: boolean, node: Tensor['node'] = null): Tensor {
    const t = new Tensor(value.storage, value.shape.slice(1), value.dtype, { requiresGrad, node });
    this.values.set(t, value);
    return t;
  }
}

/** Whether `shape` is `size` results of shape `example`, batch axis first. */
function isBatchOf(shape: readonly number[], size: number, example: readonly number[]): boolean {
  if (shape.length !== example.length + 1 || shape[0] !== size) return false;
  for (let d = 0; d < example.length; d++) if (shape[d + 1] !== example[d]) return false;
  return true;
}

const live: BatchFrame[] = [];
// grad's fresh leaf for a batched argument stands for the same batch.
leafHooks.push((from, to) => {
  for (const frame of live) {
    const v = frame.values.get(from);
    if (v) frame.values.set(to, v);
  }
});
// A detached batched tensor stands for the detached batch.
detachHooks.push((from, to) => {
  for (const frame of live) {
    const v = frame.values.get(from);
    if (v) frame.values.set(to, v.detach());
  }
});

// `.grad` of a leaf is one tensor, not one per example: inside vmap, gradients come from grad.
backwardChecks.push((root) => {
  for (const frame of live) {
    if (frame.values.has(root)) {
      throw new TransformError(
        `vmap: backward() of a batched tensor of shape ${fmt(root.shape)} would accumulate one gradient per example into .grad; take per-example gradients with grad (vmap(grad(loss)))`,
      );
    }
  }
});

function refuseBatchedReads(t: Tensor, how: string): void {
  for (const frame of live) {
    if (frame.values.has(t)) {
      throw new TransformError(
        `vmap: ${how} reads the values of a batched tensor of shape ${fmt(t.shape)}; inside vmap it stands for ${frame.size} examples at once. Compute with tensor ops instead (where(cond, a, b) rather than a JavaScript branch)`,
      );
    }
  }
}

/** Options of `vmap`. */
export interface VmapOptions {
  /**
   * For each argument, the axis holding the batch, or null for an argument
   * shared by every example (parameters). A single number applies to all.
   * Default 0.
   */
  inAxes?: number | readonly (number | null)[];
  /** Where the batch axis goes in each output (a number for all). Default 0. */
  outAxes?: number | readonly number[];
}

function describeArg(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${fmt(v.shape)}`;
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : `a ${typeof v}`;
}

/**
 * Vectorises `f` over a batch axis: `f` is written for one example and runs
 * once for the whole batch, each op through its batching rule (no loop over
 * examples). Composes with `grad` (per-example gradients), `jvp`, and
 * `compile`. As `jax.vmap`.
 *
 * @example
 * // Per-example gradients of a loss over params shared by every example:
 * const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] });
 * const [dw] = perExample(w, images, labels) as Tensor[]; // [64, ...w.shape]
 */
export function vmap<F extends (...args: Tensor[]) => Tensor | Tensor[]>(
  f: F,
  options: VmapOptions = {},
): (...args: Tensor[]) => ReturnType<F> {
  return ((...args: Tensor[]) => {
    args.forEach((a, k) => {
      if (!(a instanceof Tensor)) {
        throw new TransformError(`vmap: argument ${k} is ${describeArg(a)}, not a Tensor`);
      }
    });
    const given = options.inAxes ?? 0;
    const inAxes = typeof given === 'number' ? args.map(() => given) : given;
    if (!Array.isArray(inAxes) || inAxes.length !== args.length) {
      throw new TransformError(
        `vmap: inAxes has ${Array.isArray(inAxes) ? inAxes.length : 'no'} entries for ${args.length} arguments (shapes ${args.map((a) => fmt(a.shape)).join(', ')}); give one axis (or null) per argument`,
      );
    }
    let size = -1;
    let first = -1;
    const axes = inAxes.map((ax, k) => {
      if (ax === null) return null;
      const a = args[k]!;
      if (!Number.isInteger(ax) || ax < -a.ndim || ax >= a.ndim) {
        throw new TransformError(
          `vmap: inAxes[${k}] = ${ax} is not an axis of argument ${k} of shape ${fmt(a.shape)}`,
        );
      }
      const axis = ax < 0 ? ax + a.ndim : ax;
      if (size < 0) {
        size = a.shape[axis]!;
        first = k;
      } else if (a.shape[axis] !== size) {
        throw new TransformError(
          `vmap: argument ${k} of shape ${fmt(a.shape)} has ${a.shape[axis]} entries along inAxes[${k}] = ${ax}, but argument ${first} of shape ${fmt(args[first]!.shape)} has ${size}`,
        );
      }
      return axis;
    });
    if (size < 0) {
      throw new TransformError('vmap: inAxes are all null: at least one argument must be batched');
    }
    const frame = new BatchFrame(size);
    live.push(frame);
    try {
      return withFrame(frame, () =>
        withReadCheck(refuseBatchedReads, () => {
          const xs = args.map((a, k) => {
            const axis = axes[k]!;
            if (axis === null) return a;
            return frame.wrap(axis === 0 ? a : moveAxis(a, axis, 0), a.requiresGrad);
          });
          const result = f(...xs);
          const outs = Array.isArray(result) ? result : [result];
          const outAxes =
            typeof options.outAxes === 'number' || options.outAxes === undefined
              ? outs.map(() => (options.outAxes as number | undefined) ?? 0)
              : options.outAxes;
          if (outAxes.length !== outs.length) {
            throw new TransformError(
              `vmap: outAxes has ${outAxes.length} entries for ${outs.length} outputs of f`,
            );
          }
          const unbatched = outs.map((o, i) => {
            if (!(o instanceof Tensor)) {
              throw new TransformError(
                `vmap: f returned ${describeArg(o)}${Array.isArray(result) ? ` at output ${i}` : ''}, not a Tensor`,
              );
            }
            const value = frame.values.get(o) ?? o.expandDims(0).broadcastTo([size, ...o.shape]);
            const ax = outAxes[i]!;
            if (!Number.isInteger(ax) || ax < -value.ndim || ax >= value.ndim) {
              throw new TransformError(
                `vmap: outAxes[${i}] = ${ax} is not an axis of output ${i}, of shape ${fmt(value.shape)} with the batch`,
              );
            }
            const axis = ax < 0 ? ax + value.ndim : ax;
            return axis === 0 ? value : moveAxis(value, 0, axis);
          });
          return Array.isArray(result) ? unbatched : unbatched[0]!;
        }),
      );
    } finally {
      live.splice(live.indexOf(frame), 1);
    }
  }) as (...args: Tensor[]) => ReturnType<F>;
}

function moveAxis(x: Tensor, from: number, to: number): Tensor {
  const order = x.shape.map((_, d) => d).filter((d) => d !== from);
  order.splice(to, 0, from);
  return x.permute(order);
}
