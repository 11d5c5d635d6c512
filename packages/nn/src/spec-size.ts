import type { InferredLayer } from './spec-shapes.js';

/**
 * How many values (parameters and buffers) the layers of a spec hold, found
 * from the inferred shapes alone, so that a spec can be weighed against a
 * limit, or against the file that claims to hold its weights, before one
 * buffer is allocated. Tests check it against what `buildModel` allocates
 * for every layer type.
 */

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Values the layer allocates itself (a block: its layers'). */
export function layerValues(layer: InferredLayer): number {
  const { spec, input } = layer;
  switch (spec.type) {
    case 'dense': {
      const weights = spec.units * input[input.length - 1]!;
      return weights + (spec.bias === false ? 0 : spec.units);
    }
    case 'conv1d':
    case 'conv2d': {
      const groups = spec.groups ?? 1;
      const kernel =
        typeof spec.kernelSize === 'number'
          ? spec.kernelSize ** (spec.type === 'conv2d' ? 2 : 1)
          : product(spec.kernelSize);
      const weights = spec.outChannels * (input[0]! / groups) * kernel;
      return weights + (spec.bias === false ? 0 : spec.outChannels);
    }
    case 'batchNorm': {
      const channels = input[0]!;
      const affine = spec.affine === false ? 0 : 2 * channels;
      // running_mean, running_var and num_batches_tracked.
      const stats = spec.trackRunningStats === false ? 0 : 2 * channels + 1;
      return affine + stats;
    }
    case 'layerNorm':
      return spec.elementwiseAffine === false
        ? 0
        : 2 * product(spec.normalizedShape ?? input.slice(-1));
    case 'embedding':
      return spec.numEmbeddings * spec.embeddingDim;
    case 'sequential':
    case 'residual':
      return (layer.children ?? []).reduce((n, child) => n + layerValues(child), 0);
    default:
      return 0;
  }
}

/** Values a whole model of these inferred layers holds. */
export function modelValues(layers: readonly InferredLayer[]): number {
  return layers.reduce((n, layer) => n + layerValues(layer), 0);
}
