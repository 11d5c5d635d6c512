export type { BatchLoader, FitData, SampleSource } from './batches.js';
export {
  type CheckpointInfo,
  type EarlyStoppingOptions,
  earlyStopping,
  lambda,
  lrSchedule,
  type ModelCheckpointOptions,
  modelCheckpoint,
  type Progress,
  progress,
  type ReduceLROnPlateauOptions,
  reduceLROnPlateau,
  type SchedulePeriod,
  scheduler,
  type WarmupCosineOptions,
  warmupCosine,
} from './callbacks.js';
export { FitError, TrainingError } from './errors.js';
export {
  type BatchLogs,
  type Callback,
  type EvaluateOptions,
  evaluate,
  type FitContext,
  type FitOptions,
  fit,
  type LossFn,
  type LossName,
  predict,
} from './fit.js';
export { type EpochLogs, History } from './history.js';
export {
  accuracy,
  binaryAccuracy,
  type Metric,
  type MetricName,
  maeMetric,
  mseMetric,
  resolveMetric,
  topKAccuracy,
} from './metrics.js';
