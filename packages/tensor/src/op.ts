import type { DType, TypedArray } from './dtype.js';
import type { RowSplit } from './kernels/row-split.js';
import type { Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/** What a kernel needs to know of a tensor: its shape and dtype, never its values. */
export interface Spec {
  readonly shape: Shape;
  readonly dtype: DType;
}

/**
 * Writes an op's result into every element of `out`, whatever `out` held
 * before (a plan's reused memory, or a large output left unfilled), reading
 * the inputs' storage. Never allocates per element.
 */
export type Kernel = ((out: TypedArray, inputs: readonly TypedArray[]) => void) & {
  /**
   * Present on a compiled plan's row-local kernels (an op's `rowSplit`, a
   * fused loop's): the plan runs a chain of them as one job per block of
   * rows (row-split.ts).
   */
  readonly rows?: RowSplit;
};

/** A gradient contribution for one input, computed only if that input needs it. */
export type Pullback = (() => Tensor) | null;

/**
 * The JVP: the output's tangent from each input's tangent (null where an
 * input's tangent is zero), in tensor ops so that it differentiates again;
 * null when the output has no tangent (integer results, steps). It may
 * return a tangent that broadcasts to the output's shape.
 */
export type Jvp<A> = (
  tangents: readonly (Tensor | null)[],
  inputs: readonly Tensor[],
  out: Tensor,
  attrs: A,
) => Tensor | null;

/**
 * The JVP of an elementwise op as one scalar expression, for forward mode in
 * one pass where nothing records a graph: the same operations in the same
 * order as the op's `jvp`, so that both give the same bits. Given the
 * tangents' expressions (null where zero), the inputs' (`x0`, `x1`, …), the
 * output's, and `r`, which rounds an intermediate to the op's dtype; null
 * when the output has no tangent.
 */
export type JvpExpr = (
  tangents: readonly (string | null)[],
  inputs: readonly string[],
  out: string,
  r: (expr: string) => string,
) => string | null;

/**
 * The batching rule (vmap): the op over a batch, as ops on the batch. Each
 * input with `batched[k]` has the batch (of `size` examples) as a new
 * leading axis; the others are as the op saw them. Returns the result with
 * its batch axis first.
 */
export type Batch<A> = (
  inputs: readonly Tensor[],
  batched: readonly boolean[],
  attrs: A,
  size: number,
) => Tensor;

/**
 * One primitive op: its name, shape rule, kernel and vector-Jacobian product,
 * side by side, with the rules of the other transforms: its JVP (forward
 * mode) and its batching rule (vmap). The VJP is written in tensor ops, so a
 * gradient is itself a graph and can be differentiated again. It may return a
 * gradient of the output's (broadcast) shape: the engine sums it back to the
 * input's shape.
 */
export interface Op<A = undefined> {
  readonly name: string;
  /** Output shape and dtype, or a ShapeError that names the op and every shape. */
  infer(inputs: readonly Tensor[], attrs: A): Spec;
  /** A kernel specialised to these shapes: compile builds it once, eager on each call. */
  kernel(inputs: readonly Spec[], out: Spec, attrs: A): Kernel;
  /**
   * The kernel as a row-local step, or null where it is not one: each row
   * of the output (its leading axis) computed from the same row of some
   * inputs and the whole of the rest. Only compile asks (eager never pays
   * for it): a plan runs a chain of such steps as one job per block of rows
   * (row-split.ts).
   */
  rowSplit?(inputs: readonly Spec[], out: Spec, attrs: A): RowSplit | null;
  /** The VJP: one pullback per input (null where no gradient flows). */
  vjp?(g: Tensor, inputs: readonly Tensor[], out: Tensor, attrs: A): readonly Pullback[];
  /** Forward mode: see `Jvp`. A transform meeting an op without one names the op. */
  jvp?: Jvp<A>;
  /** Forward mode in one pass, for elementwise ops: see `JvpExpr`. */
  jvpExpr?: JvpExpr;
  /** vmap: see `Batch`. A transform meeting an op without one names the op. */
  batch?: Batch<A>;
  /** Output shares input 0's storage (a reshape): no kernel runs. */
  readonly alias?: boolean;
  /** Scalar expression over `x0, x1, …` for elementwise ops; compile fuses chains of them. */
  readonly expr?: string;
  /** Attributes rendered for `graph()` and `toDot()`. */
  describe?(attrs: A): string;
}

/** Declares an op; a function only so that attribute types are inferred. */
export function defineOp<A = undefined>(op: Op<A>): Op<A> {
  return op;
}
