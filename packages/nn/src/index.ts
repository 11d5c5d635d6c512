/**
 * @neurite/nn: modules, layers, losses, initialisers, optimisers,
 * declarative model specs and safetensors checkpoints on @neurite/tensor.
 * Runs in a browser as it is; file I/O lives in `@neurite/nn/node`.
 *
 * @example
 * import { buildModel, crossEntropy, Adam } from '@neurite/nn';
 * const model = buildModel({ input: [784], layers: [
 *   { type: 'dense', units: 16, activation: 'relu' },
 *   { type: 'dense', units: 10 },
 * ] }, { seed: 1 });
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * const loss = crossEntropy(model.forward(images), labels);
 * loss.backward(); opt.step(); opt.zeroGrad();
 */
export { type BuildOptions, buildModel } from './build.js';
export {
  type Checkpoint,
  type CheckpointMeta,
  type CheckpointOptions,
  checkpointBytes,
  META_KEY,
  OPTIMIZER_KEY,
  type RestoreOptions,
  RNG_KEY,
  restoreCheckpoint,
  SCHEDULER_KEY,
  type ScheduleLike,
  SPEC_KEY,
  type SpecCheckpoint,
  type Stateful,
} from './checkpoint.js';
export { CheckpointError, LossError, OptimizerError, SpecError, StateDictError } from './errors.js';
export * from './fit/index.js';
export {
  fans,
  glorotNormal,
  glorotUniform,
  type HeOptions,
  heNormal,
  heUniform,
  type InitOptions,
  normal,
  uniform,
} from './init.js';
export {
  type ActivationName,
  activate,
  activationLayer,
  activationNames,
  ELU,
  elu,
  GELU,
  gelu,
  Identity,
  LeakyReLU,
  ReLU,
  Sigmoid,
  SiLU,
  Softmax,
  Softplus,
  silu,
  softplus,
  Tanh,
} from './layers/activations.js';
export {
  Conv1d,
  type Conv1dLayerOptions,
  Conv2d,
  type Conv2dLayerOptions,
  type PaddingMode,
  type Pair,
} from './layers/conv.js';
export { Dropout } from './layers/dropout.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { Flatten, flattenShape, Reshape, reshapeShape } from './layers/flatten.js';
export { Dense, type InitName, Linear, type LinearOptions } from './layers/linear.js';
export {
  BatchNorm,
  BatchNorm1d,
  BatchNorm2d,
  type BatchNormOptions,
  LayerNorm,
  type LayerNormOptions,
} from './layers/normalization.js';
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './layers/pooling.js';
export { Residual } from './layers/residual.js';
export { Sequential } from './layers/sequential.js';
export {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  type LossOptions,
  mse,
  nll,
  quadraticCost,
  type Reduction,
} from './losses.js';
export { type LoadStateDictResult, Module, type StateDict } from './module.js';
export { Adam, type AdamOptions, AdamW } from './optim/adam.js';
export { clipGradNorm, clipGradValue } from './optim/clip.js';
export { LBFGS, type LBFGSOptions, type LossClosure } from './optim/lbfgs.js';
export { type Hyperparameters, Optimizer, type OptimizerState } from './optim/optimizer.js';
export { RMSprop, type RMSpropOptions } from './optim/rmsprop.js';
export { CosineLR, LRSchedule, type ScheduleState, StepLR } from './optim/schedule.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export {
  fromSafetensors,
  type SafetensorsContents,
  type SafetensorsFloat,
  type ToSafetensorsOptions,
  toSafetensors,
} from './safetensors.js';
export {
  type ActivationSpec,
  type AdaptiveAvgPool2dSpec,
  type AvgPool2dSpec,
  type BatchNormSpec,
  type Conv1dSpec,
  type Conv2dSpec,
  type DenseSpec,
  type DropoutSpec,
  type EmbeddingSpec,
  type FlattenSpec,
  initNames,
  type LayerNormSpec,
  type LayerSpec,
  layerTypes,
  type MaxPool2dSpec,
  type ModelSpec,
  modelSpecSchema,
  parseSpec,
  type ReshapeSpec,
  type ResidualSpec,
  type SequentialSpec,
  type SpecPair,
} from './spec.js';
export { type InferredLayer, inferShapes } from './spec-shapes.js';
export { summary } from './summary.js';
export { loadTorchStateDict, type TorchLayout, torchLayout, toTorchStateDict } from './torch.js';
