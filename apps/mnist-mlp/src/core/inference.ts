import type { BatchSource } from '@neurite/data';
import type { ModelSpec, Sequential } from '@neurite/nn';
import { noGrad, type Tensor, tensor } from '@neurite/tensor';

/**
 * Whether the model ends in raw scores (logits) rather than an activation:
 * then the outputs shown as "activations" are their softmax, the
 * probabilities cross-entropy trained them to be.
 */
export function outputsLogits(spec: ModelSpec): boolean {
  for (let i = spec.layers.length - 1; i >= 0; i--) {
    const layer = spec.layers[i]!;
    if (layer.type === 'dense') return (layer.activation ?? 'linear') === 'linear';
    if (layer.type === 'activation') return layer.activation === 'linear';
  }
  return true;
}

/** The network's output activations for a batch [B, inputs]: its outputs, or their softmax if they are logits. */
export function outputActivations(model: Sequential, spec: ModelSpec, x: Tensor): Tensor {
  return noGrad(() => {
    const y = model.forward(x);
    return outputsLogits(spec) ? y.softmax(-1) : y;
  });
}

/** Predictions for a whole labelled set. */
export interface Predictions {
  /** The predicted class of every example (the largest output). */
  readonly predicted: Int32Array;
  /** The output activation of the predicted class. */
  readonly confidence: Float32Array;
  /** The output activation of the true class. */
  readonly trueScore: Float32Array;
}

/**
 * Runs the model (in evaluation mode, without gradients) over every example
 * of `source`, `chunk` examples at a time.
 *
 * @example
 * const { predicted } = predictAll(model, spec, mnist.test);
 */
export function predictAll(
  model: Sequential,
  spec: ModelSpec,
  source: BatchSource,
  chunk = 1000,
): Predictions {
  const { count, pixels } = source;
  const labels = source.labels.data;
  const features = count === 0 ? 0 : pixels.length / count;
  const predicted = new Int32Array(count);
  const confidence = new Float32Array(count);
  const trueScore = new Float32Array(count);
  const scale = byteScale();
  const buffer = new Float32Array(Math.min(chunk, count) * features);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < count; start += chunk) {
      const size = Math.min(chunk, count - start);
      const view = buffer.subarray(0, size * features);
      const from = start * features;
      for (let i = 0; i < view.length; i++) view[i] = scale[pixels[from + i]!]!;
      const out = outputActivations(model, spec, tensor(view, { shape: [size, features] }));
      const classes = out.shape[1]!;
      const values = out.data;
      for (let r = 0; r < size; r++) {
        let best = 0;
        for (let c = 1; c < classes; c++)
          if (values[r * classes + c]! > values[r * classes + best]!) best = c;
        predicted[start + r] = best;
        confidence[start + r] = values[r * classes + best]!;
        const label = labels[start + r]!;
        trueScore[start + r] = label < classes ? values[r * classes + label]! : 0;
      }
    }
  } finally {
    model.train(wasTraining);
  }
  return { predicted, confidence, trueScore };
}

let scaleTable: Float32Array | undefined;

/** byte → byte/255 as float32: the same table the data loader scales pixels with. */
export function byteScale(): Float32Array {
  if (!scaleTable) {
    scaleTable = new Float32Array(256);
    for (let p = 0; p < 256; p++) scaleTable[p] = p / 255;
  }
  return scaleTable;
}

/** One layer's activations for one input, as the video lights them up. */
export interface LayerActivations {
  /** `input`, `hidden 1`, `hidden 2` …, `output`. */
  readonly name: string;
  readonly values: Float32Array;
  /** For an output layer that emits logits: the raw scores before the softmax. */
  readonly logits?: Float32Array;
}

/**
 * Every layer's activations for one input image (e.g. 784 values in
 * [0, 1]): the input, each hidden layer after its activation, and the
 * output (probabilities if the network emits logits). Layers without
 * parameters (activations, dropout) merge into the layer before them.
 *
 * @example
 * const layers = layerActivations(model, spec, preprocess(img).pixels);
 * layers.map((l) => l.values.length); // [784, 16, 16, 10]
 */
export function layerActivations(
  model: Sequential,
  spec: ModelSpec,
  input: Float32Array,
): LayerActivations[] {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const stages: { values: Tensor }[] = [];
      let x: Tensor = tensor(input.slice(), { shape: [1, input.length] });
      for (const layer of model.layers) {
        x = layer.forward(x);
        if (layer.parameters().length > 0) stages.push({ values: x });
        else if (stages.length > 0) stages[stages.length - 1]!.values = x;
      }
      const result: LayerActivations[] = [{ name: 'input', values: input.slice() }];
      stages.forEach((s, i) => {
        const last = i === stages.length - 1;
        const values = Float32Array.from(s.values.data);
        if (!last) result.push({ name: `hidden ${i + 1}`, values });
        else if (outputsLogits(spec)) {
          result.push({
            name: 'output',
            values: Float32Array.from(s.values.softmax(-1).data),
            logits: values,
          });
        } else result.push({ name: 'output', values });
      });
      return result;
    });
  } finally {
    model.train(wasTraining);
  }
}
