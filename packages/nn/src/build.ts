import { Rng } from '@neurite/tensor';
import { SpecError } from './errors.js';
import {
  activationLayer,
  defaultLeakySlope,
  ELU,
  GELU,
  LeakyReLU,
  Softplus,
} from './layers/activations.js';
import { Conv1d, Conv2d } from './layers/conv.js';
import { Dropout } from './layers/dropout.js';
import { Embedding } from './layers/embedding.js';
import { Flatten, Reshape } from './layers/flatten.js';
import { Dense } from './layers/linear.js';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from './layers/normalization.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './layers/pooling.js';
import { Residual } from './layers/residual.js';
import { Sequential } from './layers/sequential.js';
import type { Module } from './module.js';
import { type ModelSpec, parseSpec } from './spec.js';
import { type InferredLayer, inferShapes } from './spec-shapes.js';
import { layerValues, modelValues } from './spec-size.js';

/** Options of `buildModel`. */
export interface BuildOptions {
  /** Seed of the weights (and dropout masks): the same seed gives bit-identical weights. Default 0. */
  seed?: number;
  /** Parameter dtype. Default `float32`. */
  dtype?: 'float32' | 'float64';
  /**
   * The most parameter and buffer values the model may hold, checked before
   * anything is allocated. Default 2²⁸ (1 GiB of float32); raise it for a
   * bigger model.
   */
  maxValues?: number;
}

/** The default of `BuildOptions.maxValues`. */
export const DEFAULT_MAX_VALUES = 2 ** 28;

/**
 * Builds the network a spec describes, after validating it (`parseSpec`: a
 * bad field or shapes that do not fit throw a `SpecError` naming the layer
 * path, the field and the shapes, before any weight is allocated). The
 * result is a `Sequential` with one entry per spec layer, named by index as
 * PyTorch's: `spec.layers[i]` owns `i.weight`, `i.bias`, `i.running_mean` …;
 * a nested `sequential` or `residual` block is a `Sequential` or `Residual`
 * whose layers are `i.j.…`. Its `spec` property keeps the validated spec.
 *
 * The spec is typed: a literal with a wrong field is a compile error. JSON
 * of unknown shape goes through `parseSpec` first.
 *
 * @example
 * const model = buildModel(
 *   { input: [784], layers: [
 *     { type: 'dense', units: 16, activation: 'sigmoid' },
 *     { type: 'dense', units: 16, activation: 'sigmoid' },
 *     { type: 'dense', units: 10, activation: 'sigmoid' },
 *   ] },
 *   { seed: 42 },
 * );
 * model.parameterCount(); // 13002
 */
export function buildModel(
  spec: ModelSpec,
  { seed = 0, dtype = 'float32', maxValues = DEFAULT_MAX_VALUES }: BuildOptions = {},
): Sequential {
  const parsed = parseSpec(spec);
  const layers = inferShapes(parsed);
  const values = modelValues(layers);
  if (!(values <= maxValues)) {
    const [largest] = [...layers].sort((a, b) => layerValues(b) - layerValues(a));
    throw new SpecError([
      `the model needs ${values} parameter and buffer values (${largest!.path}, ${largest!.spec.type}: ${layerValues(largest!)}), ` +
        `more than the limit of ${maxValues}; raise it with { maxValues } if that is meant`,
    ]);
  }
  const rng = new Rng(seed);
  const model = new Sequential(...layers.map((l) => buildLayer(l, rng, dtype)));
  model.spec = parsed;
  return model;
}

function buildLayer(layer: InferredLayer, rng: Rng, dtype: 'float32' | 'float64'): Module {
  const { spec, input } = layer;
  switch (spec.type) {
    case 'dense':
      return new Dense(input[input.length - 1]!, spec.units, {
        activation: spec.activation ?? 'linear',
        bias: spec.bias ?? true,
        init: spec.init ?? 'default',
        rng,
        dtype,
      });
    case 'dropout':
      return new Dropout(spec.rate, { rng: new Rng(rng.uint32()) });
    case 'flatten':
      return new Flatten(spec.startDim ?? 1, spec.endDim ?? -1);
    case 'activation':
      switch (spec.activation) {
        case 'leakyRelu':
          return new LeakyReLU(spec.alpha ?? defaultLeakySlope);
        case 'elu':
          return new ELU(spec.alpha ?? 1);
        case 'softplus':
          return new Softplus({ beta: spec.beta ?? 1, threshold: spec.threshold ?? 20 });
        case 'gelu':
          return new GELU({ approximate: spec.approximate ?? 'none' });
        default:
          return activationLayer(spec.activation);
      }
    case 'reshape':
      return new Reshape(spec.shape);
    case 'batchNorm': {
      const options = {
        eps: spec.eps ?? 1e-5,
        momentum: spec.momentum === undefined ? 0.1 : spec.momentum,
        affine: spec.affine ?? true,
        trackRunningStats: spec.trackRunningStats ?? true,
        dtype,
      };
      return input.length === 3
        ? new BatchNorm2d(input[0]!, options)
        : new BatchNorm1d(input[0]!, options);
    }
    case 'layerNorm':
      return new LayerNorm(spec.normalizedShape ?? input.slice(-1), {
        eps: spec.eps ?? 1e-5,
        elementwiseAffine: spec.elementwiseAffine ?? true,
        dtype,
      });
    case 'embedding':
      return new Embedding(spec.numEmbeddings, spec.embeddingDim, {
        ...(spec.paddingIdx === undefined ? {} : { paddingIdx: spec.paddingIdx }),
        rng,
        dtype,
      });
    case 'conv2d':
      return new Conv2d(input[0]!, spec.outChannels, spec.kernelSize, {
        stride: spec.stride ?? 1,
        padding: spec.padding ?? 0,
        dilation: spec.dilation ?? 1,
        groups: spec.groups ?? 1,
        paddingMode: spec.paddingMode ?? 'zeros',
        bias: spec.bias ?? true,
        rng,
        dtype,
      });
    case 'conv1d':
      return new Conv1d(input[0]!, spec.outChannels, spec.kernelSize, {
        stride: spec.stride ?? 1,
        padding: spec.padding ?? 0,
        dilation: spec.dilation ?? 1,
        groups: spec.groups ?? 1,
        paddingMode: spec.paddingMode ?? 'zeros',
        bias: spec.bias ?? true,
        rng,
        dtype,
      });
    case 'maxPool2d':
      return new MaxPool2d(spec.kernelSize, {
        ...(spec.stride === undefined ? {} : { stride: spec.stride }),
        ...(spec.padding === undefined ? {} : { padding: spec.padding }),
        ...(spec.dilation === undefined ? {} : { dilation: spec.dilation }),
      });
    case 'avgPool2d':
      return new AvgPool2d(spec.kernelSize, {
        ...(spec.stride === undefined ? {} : { stride: spec.stride }),
        ...(spec.padding === undefined ? {} : { padding: spec.padding }),
        ...(spec.countIncludePad === undefined ? {} : { countIncludePad: spec.countIncludePad }),
      });
    case 'adaptiveAvgPool2d':
      return new AdaptiveAvgPool2d(spec.outputSize);
    case 'sequential':
      return new Sequential(...layer.children!.map((l) => buildLayer(l, rng, dtype)));
    case 'residual':
      return new Residual(...layer.children!.map((l) => buildLayer(l, rng, dtype)));
  }
}
