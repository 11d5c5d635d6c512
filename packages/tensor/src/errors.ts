/** Base class of every error neurite throws on purpose. */
export class NeuriteError extends Error {
  override name = 'NeuriteError';
}

/**
 * An op was given shapes it cannot combine. The message names the op and
 * every shape involved, e.g. `matmul: inner dimensions differ: [64, 784] @ [16, 10]`.
 */
export class ShapeError extends NeuriteError {
  override name = 'ShapeError';
}

/** An op was given a dtype it does not accept (e.g. a gradient of int32 values). */
export class DTypeError extends NeuriteError {
  override name = 'DTypeError';
}

/** An axis outside `[-ndim, ndim)`. */
export class AxisError extends NeuriteError {
  override name = 'AxisError';
}

/** An index outside the extent of the dimension it indexes. */
export class IndexError extends NeuriteError {
  override name = 'IndexError';
}

/**
 * An option value outside what an op accepts, e.g. a stride of 0 or `'same'`
 * padding with a stride above 1. The message names the op, the value and the rule.
 */
export class OptionError extends NeuriteError {
  override name = 'OptionError';
}

/** Misuse of the autodiff API, e.g. `backward()` on a non-scalar without a seed. */
export class GradError extends NeuriteError {
  override name = 'GradError';
}

/** Thrown when a compiled function is used in a way a static plan cannot honour. */
export class CompileError extends NeuriteError {
  override name = 'CompileError';
}

/**
 * A function transform (jvp, vjp, vmap, jacobian, hessian …) was misused:
 * the message names the transform, the argument and the shapes.
 */
export class TransformError extends NeuriteError {
  override name = 'TransformError';
}

/**
 * A thread count the platform cannot honour (`setThreads(0)`, a fraction,
 * more than the cores available), or a kernel that failed on a worker thread.
 */
export class ThreadError extends NeuriteError {
  override name = 'ThreadError';
}

/** Formats a shape the way every message shows it: `[64, 784]`. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
