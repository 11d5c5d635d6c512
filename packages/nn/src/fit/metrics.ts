import { arange, type Tensor, where } from '@neurite/tensor';
import { FitError } from './errors.js';

/**
 * A figure tracked during `fit` and `evaluate`. `batch` returns the sum of
 * the per-sample values over a batch, as a scalar tensor written in tensor
 * ops (it runs inside the compiled step, so it must not read values);
 * the epoch's figure is the sum over its batches divided by the samples.
 *
 * @example
 * const meanAbsError: Metric = {
 *   name: 'mae',
 *   batch: (output, target) => output.sub(target).abs().mean(-1).sum(),
 * };
 */
export interface Metric {
  readonly name: string;
  batch(output: Tensor, target: Tensor): Tensor;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Per-sample mean over every axis but the first (a 1-D output is one value per sample). */
function perSample(values: Tensor): Tensor {
  if (values.ndim <= 1) return values;
  return values.mean(Array.from({ length: values.ndim - 1 }, (_, i) => i + 1));
}

function classScores(name: string, output: Tensor): void {
  if (output.ndim < 2 || output.shape[output.ndim - 1]! < 2) {
    throw new FitError(
      `${name}: needs class scores [batch, classes ≥ 2], got output ${fmt(output.shape)}`,
    );
  }
}

/** The true class of each sample: int32 labels as they are, one-hot or probability rows by their argmax. */
function trueClass(name: string, output: Tensor, target: Tensor): Tensor {
  if (target.dtype === 'int32') {
    if (fmt(target.shape) !== fmt(output.shape.slice(0, -1))) {
      throw new FitError(
        `${name}: labels ${fmt(target.shape)} do not match output ${fmt(output.shape)} (expected ${fmt(output.shape.slice(0, -1))})`,
      );
    }
    return target;
  }
  if (fmt(target.shape) !== fmt(output.shape)) {
    throw new FitError(
      `${name}: targets ${fmt(target.shape)} match neither output ${fmt(output.shape)} nor its labels ${fmt(output.shape.slice(0, -1))}`,
    );
  }
  return target.argmax(-1);
}

/**
 * The fraction of samples whose largest output is their class: labels as
 * int32, or one-hot / probability rows.
 *
 * @example
 * fit(model, data, { …, metrics: [accuracy] }); // or metrics: ['accuracy']
 */
export const accuracy: Metric = {
  name: 'accuracy',
  batch(output, target) {
    classScores('accuracy', output);
    return output
      .argmax(-1)
      .eq(trueClass('accuracy', output, target))
      .cast('float32')
      .sum();
  },
};

/**
 * The fraction of samples whose class is among the `k` largest outputs
 * (ties counted in the true class's favour), named `top${k}Accuracy`.
 *
 * @example
 * fit(model, data, { …, metrics: ['accuracy', topKAccuracy(5)] }); // or 'top5Accuracy'
 */
export function topKAccuracy(k: number): Metric {
  if (!Number.isInteger(k) || k < 1) {
    throw new FitError(`topKAccuracy: k must be a positive integer, got ${k}`);
  }
  const name = `top${k}Accuracy`;
  return {
    name,
    batch(output, target) {
      classScores(name, output);
      const classes = output.shape[output.ndim - 1]!;
      const label = trueClass(name, output, target);
      const own = where(label.expandDims(-1).eq(arange(classes)), output, 0).sum(-1, true);
      const above = output.gt(own).cast('float32').sum(-1);
      return above.lt(k).cast('float32').sum();
    },
  };
}

/**
 * The fraction of outputs on the right side of `threshold` (default 0.5,
 * for probabilities; use 0 for logits) against 0/1 targets of the output's
 * shape, averaged per sample.
 *
 * @example
 * fit(model, data, { loss: 'binaryCrossEntropy', metrics: ['binaryAccuracy'], … });
 */
export function binaryAccuracy(threshold = 0.5): Metric {
  return {
    name: 'binaryAccuracy',
    batch(output, target) {
      sameShape('binaryAccuracy', output, target);
      const predicted = output.gt(threshold).cast('float32');
      return perSample(predicted.eq(target.cast('float32')).cast('float32')).sum();
    },
  };
}

function sameShape(name: string, output: Tensor, target: Tensor): void {
  if (target.dtype === 'int32' || fmt(output.shape) !== fmt(target.shape)) {
    throw new FitError(
      `${name}: needs float targets of the output's shape ${fmt(output.shape)}, got ${target.dtype} ${fmt(target.shape)}`,
    );
  }
}

/**
 * Mean squared error, averaged per sample then over samples.
 *
 * @example
 * fit(model, data, { loss: 'mse', metrics: ['mse', 'mae'], … });
 */
export const mseMetric: Metric = {
  name: 'mse',
  batch(output, target) {
    sameShape('mse', output, target);
    const d = output.sub(target);
    return perSample(d.mul(d)).sum();
  },
};

/**
 * Mean absolute error, averaged per sample then over samples.
 *
 * @example
 * fit(model, data, { loss: 'mse', metrics: ['mae'], … });
 */
export const maeMetric: Metric = {
  name: 'mae',
  batch(output, target) {
    sameShape('mae', output, target);
    return perSample(output.sub(target).abs()).sum();
  },
};

/** The names `metrics` accepts: `accuracy`, `binaryAccuracy`, `mse`, `mae`, and `top${k}Accuracy` for any k. */
export type MetricName = 'accuracy' | 'binaryAccuracy' | 'mse' | 'mae' | `top${number}Accuracy`;

/**
 * A metric by name or as given; an unknown name is refused with the field and the names known.
 *
 * @example
 * resolveMetric('top5Accuracy', 'metrics[0]').name; // 'top5Accuracy'
 */
export function resolveMetric(metric: MetricName | Metric, field: string): Metric {
  if (typeof metric === 'object' && metric !== null) {
    if (typeof metric.name !== 'string' || typeof metric.batch !== 'function') {
      throw new FitError(
        `fit: ${field} must be a metric name or { name, batch }, got ${String(metric)}`,
      );
    }
    return metric;
  }
  switch (metric) {
    case 'accuracy':
      return accuracy;
    case 'binaryAccuracy':
      return binaryAccuracy();
    case 'mse':
      return mseMetric;
    case 'mae':
      return maeMetric;
  }
  const top = /^top(\d+)Accuracy$/.exec(String(metric));
  if (top) return topKAccuracy(Number(top[1]));
  throw new FitError(
    `fit: ${field} '${String(metric)}' is not a metric (known: accuracy, binaryAccuracy, mse, mae, top5Accuracy and other top-k, or a { name, batch } object)`,
  );
}
