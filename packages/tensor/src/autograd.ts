import { allocate, isFloat } from './dtype.js';
import { DTypeError, fmt, GradError, TransformError } from './errors.js';
import { isGradEnabled, withGradMode } from './grad-mode.js';
import { type Shape, sameShape } from './shape.js';
import { Tensor } from './tensor.js';

/**
 * Sums a gradient of a broadcast result back to the shape of the input that
 * was broadcast. The engine calls it once for every op's every input, so no
 * op's VJP handles broadcasting itself.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return g.sum(axes, true).reshape(shape);
}

/** Tensors that lead to `root` and require a gradient, inputs before the tensors that read them. */
export function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  // Iterative depth-first search: deep graphs must not overflow the call stack.
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const next = inputs[i]!;
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/**
 * Reverse-mode sweep from `root`, seeded with `seed`. Returns the gradient of
 * every tensor on the way. VJPs run as ordinary tensor ops, recorded when
 * `createGraph` so that the gradients can be differentiated again.
 */
export function vjpAll(
  root: Tensor,
  seed: Tensor,
  createGraph: boolean,
  keep: ReadonlySet<Tensor> = new Set(),
  order: readonly Tensor[] = topoOrder(root),
): Map<Tensor, Tensor> {
  const grads = new Map<Tensor, Tensor>([[root, seed]]);
  withGradMode(createGraph, () => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i]!;
      const node = t.node;
      const g = grads.get(t);
      if (!node || !g) continue;
      const pullbacks = node.op.vjp!(g, node.inputs, t, node.attrs);
      node.inputs.forEach((input, k) => {
        const pull = pullbacks[k];
        if (!pull || !input.requiresGrad) return;
        let gi = sumTo(pull(), input.shape);
        if (gi.dtype !== input.dtype) gi = gi.cast(input.dtype);
        const prev = grads.get(input);
        grads.set(input, prev ? prev.add(gi) : gi);
      });
      // Intermediate gradients are not needed once passed on.
      if (t.node && t !== root && !keep.has(t)) grads.delete(t);
    }
  });
  return grads;
}

function seedFor(root: Tensor, seed: Tensor | undefined, where: string): Tensor {
  if (!isFloat(root.dtype))
    throw new DTypeError(`${where}: cannot differentiate an ${root.dtype} tensor`);
  if (seed) {
    if (!sameShape(seed.shape, root.shape)) {
      throw new GradError(
        `${where}: seed gradient has shape ${fmt(seed.shape)}, output has ${fmt(root.shape)}`,
      );
    }
    return seed;
  }
  if (root.size !== 1) {
    throw new GradError(
      `${where}: output has shape ${fmt(root.shape)}; only a scalar can be differentiated without a seed gradient`,
    );
  }
  return Tensor.scalar(1, root.dtype).reshape(root.shape);
}

/** `loss.backward()`: accumulates d(root)/d(leaf) into `leaf.grad` for every leaf requiring a gradient. */
export function backward(root: Tensor, seed?: Tensor, { createGraph = false } = {}): void {
  for (const check of backwardChecks) check(root);
  if (!root.requiresGrad) {
    throw new GradError(
      'backward: this tensor does not require a gradient (no input of its graph requires one)',
    );
  }
  const grads = vjpAll(root, seedFor(root, seed, 'backward'), createGraph);
  for (const [t, g] of grads) {
    if (t.node) continue;
    const value = createGraph ? g : g.detach();
    t.grad = t.grad ? withGradMode(createGraph, () => t.grad!.add(value)) : value;
  }
}

type TensorFn = (...args: Tensor[]) => Tensor;

/**
 * `f` and its gradients with respect to every argument. A gradient is itself
 * a graph whenever the computation around the call is being differentiated:
 * when some tensor that `f` reads requires a gradient, whether passed in or
 * closed over (a network's parameters inside a physics loss). So `grad` nests
 * to any order and composes with the other transforms.
 *
 * @example
 * const [value, [dx]] = valueAndGrad((x) => x.pow(3).sum())(tensor([2]));
 */
export function valueAndGrad(f: TensorFn): (...args: Tensor[]) => [Tensor, Tensor[]] {
  return (...args) => {
    args.forEach((a, k) => {
      if (!(a instanceof Tensor)) {
        throw new TransformError(`grad: argument ${k} is ${kindOf(a)}, not a Tensor`);
      }
    });
    const leaves = args.map((a) => (a.requiresGrad ? a : freshLeaf(a)));
    const value: unknown = withGradMode(true, () => f(...leaves));
    if (!(value instanceof Tensor)) {
      throw new TransformError(`grad: f returned ${kindOf(value)}, not a Tensor`);
    }
    if (!value.requiresGrad) {
      seedFor(value, undefined, 'grad'); // the same checks as when f depends on its arguments
      for (let k = 0; k < args.length; k++) if (leaves[k] !== args[k]) retired.add(leaves[k]!);
      return [value, leaves.map((a) => zerosLike(a))];
    }
    const order = topoOrder(value);
    const grads = vjpAll(
      value,
      seedFor(value, undefined, 'grad'),
      differentiable(order, leaves, args),
      new Set(leaves),
      order,
    );
    for (let k = 0; k < args.length; k++) if (leaves[k] !== args[k]) retired.add(leaves[k]!);
    return [value, leaves.map((a) => grads.get(a) ?? zerosLike(a))];
  };
}

/** What `v` is, for an error message about a value that should have been a Tensor. */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Leaves made by `valueAndGrad` calls that have returned: nothing can ask
 * for a gradient with respect to them any more, so a graph reaching one is
 * not a reason to record gradients as graphs.
 */
const retired = new WeakSet<Tensor>();

/** A leaf that requires a gradient and shares `a`'s values (and, under a transform, its tangent or batch). */
export function freshLeaf(a: Tensor): Tensor {
  const leaf = new Tensor(a.storage, a.shape, a.dtype, { requiresGrad: true });
  for (const hook of leafHooks) hook(a, leaf);
  return leaf;
}

/** Transforms register here to refuse a `backward()` they cannot honour (vmap: of a batched tensor). */
export const backwardChecks: ((root: Tensor) => void)[] = [];

/** Transforms (jvp, vmap) register here to carry their data from a tensor to the leaf made for it. */
export const leafHooks: ((from: Tensor, to: Tensor) => void)[] = [];

/**
 * Whether gradients must be recorded as graphs: grad mode is on and the
 * graph reaches a leaf requiring a gradient that is not one made for this
 * call (an argument that required one, or a closed-over tensor).
 */
export function differentiable(
  order: readonly Tensor[],
  leaves: readonly Tensor[],
  args: readonly Tensor[],
): boolean {
  if (!isGradEnabled()) return false;
  const made = new Set(leaves.filter((l, i) => l !== args[i]));
  return order.some((t) => t.node === null && !made.has(t) && !retired.has(t));
}

/**
 * The gradient of scalar `f` with respect to each argument (one tensor for a
 * one-argument `f`, else an array). Gradients of gradients work.
 *
 * @example
 * const d2 = grad(grad((x) => x.pow(3).sum()));
 * d2(tensor([2])); // 6x = 12
 */
export function grad(f: (x: Tensor) => Tensor): (x: Tensor) => Tensor;
export function grad(f: TensorFn): (...args: Tensor[]) => Tensor | Tensor[];
export function grad(f: TensorFn): (...args: Tensor[]) => Tensor | Tensor[] {
  const vg = valueAndGrad(f);
  return (...args) => {
    const [, grads] = vg(...args);
    return args.length === 1 ? grads[0]! : grads;
  };
}

function zerosLike(a: Tensor): Tensor {
  return new Tensor(allocate(a.dtype, a.size), a.shape, a.dtype);
}
