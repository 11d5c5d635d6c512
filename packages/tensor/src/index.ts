/**
 * @neurite/tensor: n-d tensors with reverse-mode autodiff over a symbolic
 * graph. Gradients are graphs too, so gradients of gradients work.
 *
 * @example
 * import { tensor, grad } from '@neurite/tensor';
 * const f = (x) => x.pow(3).sum();
 * grad(grad(f))(tensor([2])); // 12
 */
export {
  AnomalyError,
  detectAnomaly,
  isAnomalyDetectionEnabled,
} from './anomaly.js';
export { backward, grad, sumTo, valueAndGrad } from './autograd.js';
export {
  type Compiled,
  CompileError,
  type CompileOptions,
  compile,
  type PlanStats,
  type Traced,
} from './compile.js';
export {
  arange,
  eye,
  full,
  linspace,
  oneHot,
  ones,
  onesLike,
  type RandomOptions,
  rand,
  randint,
  randn,
  type TensorOptions,
  tensor,
  zeros,
  zerosLike,
} from './create.js';
export { allocate, type DType, isFloat, type TypedArray } from './dtype.js';
export { apply, assignInPlace, isTracing, type Tracer, withTracer } from './engine.js';
export {
  AxisError,
  DTypeError,
  GradError,
  IndexError,
  NeuriteError,
  OptionError,
  ShapeError,
  ThreadError,
  TransformError,
} from './errors.js';
export { isGradEnabled, noGrad, withGradMode } from './grad-mode.js';
export { type GradcheckResult, gradcheck } from './gradcheck.js';
export { formatGraph, toDot, walk } from './graph.js';
export { availableCores, getThreads, setThreads } from './kernels/threads.js';
export {
  type Batch,
  defineOp,
  type Jvp,
  type JvpExpr,
  type Kernel,
  type Op,
  type Pullback,
  type Spec,
} from './op.js';
export * from './ops/functions.js';
export { Rng } from './rng.js';
export { gatherRows, isPinned, pinArray, type RowArray } from './rows.js';
export { broadcastShapes, type Shape, sizeOf, stridesOf } from './shape.js';
export { type NestedArray, type Node, Tensor } from './tensor.js';
export * from './transforms/index.js';
