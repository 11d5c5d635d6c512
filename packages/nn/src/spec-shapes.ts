import { NeuriteError } from '@neurite/tensor';
import { SpecError } from './errors.js';
import { flattenShape, reshapeShape } from './layers/flatten.js';
import type { LayerSpec, ModelSpec } from './spec.js';

/**
 * Shape inference for model specs: the shape of each layer's output for
 * one sample, found from the spec alone (nothing is allocated), so that a
 * spec whose layers do not fit together is refused when it is parsed, with
 * the layer's path, the field and the shapes.
 */

/** One layer of a spec with the shapes of one sample going in and coming out. */
export interface InferredLayer {
  /** Where the layer sits in the spec, e.g. `layers[2].layers[0]`. */
  path: string;
  /** Its name in the built model and its state dict, e.g. `2.0`. */
  name: string;
  spec: LayerSpec;
  /** Shape of one input sample (no batch axis). */
  input: number[];
  /** Shape of one output sample. */
  output: number[];
  /** The layers of a `sequential` or `residual` block. */
  children?: InferredLayer[];
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const same = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Throws the spec error for a layer that does not fit its input. */
function refuse(path: string, why: string): never {
  throw new SpecError([`${path}: ${why}`]);
}

/**
 * The output shape of every layer of a spec (already checked by the
 * schema), through nested blocks. Throws a `SpecError` naming the layer
 * path, the field and both shapes where a layer cannot take its input.
 *
 * @example
 * inferShapes({ input: [1, 28, 28], layers: [{ type: 'flatten' }, { type: 'dense', units: 10 }] })
 *   .map((l) => l.output); // [[784], [10]]
 */
export function inferShapes(spec: ModelSpec): InferredLayer[] {
  return inferBlock(spec.layers, spec.input, 'layers', '', true);
}

function inferBlock(
  layers: readonly LayerSpec[],
  input: readonly number[],
  path: string,
  prefix: string,
  atModelInput: boolean,
): InferredLayer[] {
  let shape = [...input];
  return layers.map((layer, i) => {
    const inferred = inferLayer(
      layer,
      shape,
      `${path}[${i}]`,
      prefix ? `${prefix}.${i}` : String(i),
      atModelInput && i === 0,
    );
    shape = inferred.output;
    return inferred;
  });
}

function inferLayer(
  layer: LayerSpec,
  input: number[],
  path: string,
  name: string,
  first: boolean,
): InferredLayer {
  const done = (output: number[], children?: InferredLayer[]): InferredLayer => ({
    path,
    name,
    spec: layer,
    input,
    output,
    ...(children ? { children } : {}),
  });
  switch (layer.type) {
    case 'dense': {
      if (input.length > 2) {
        refuse(
          path,
          `dense takes samples of shape [features] (or [steps, features]) but gets ${fmt(input)}; add { "type": "flatten" } before it`,
        );
      }
      return done([...input.slice(0, -1), layer.units]);
    }
    case 'dropout':
    case 'activation':
      return done(input);
    case 'flatten': {
      const start = layer.startDim ?? 1;
      const end = layer.endDim ?? -1;
      let out: number[];
      try {
        out = flattenShape([1, ...input], start, end);
      } catch (e) {
        if (e instanceof NeuriteError)
          refuse(
            path,
            `startDim ${start}, endDim ${end} do not fit the batched input [N, ${input.join(', ')}]`,
          );
        throw e;
      }
      const rank = input.length + 1;
      if ((start < 0 ? start + rank : start) === 0)
        refuse(`${path}.startDim`, 'a spec cannot flatten the batch axis 0, got 0');
      return done(out.slice(1));
    }
    case 'reshape': {
      try {
        return done(reshapeShape(input, layer.shape));
      } catch (e) {
        if (e instanceof Error)
          refuse(
            `${path}.shape`,
            `a sample of shape ${fmt(input)} (${input.reduce((a, b) => a * b, 1)} elements) cannot be reshaped to ${fmt(layer.shape)}`,
          );
        throw e;
      }
    }
    case 'batchNorm': {
      if (input.length < 1 || input.length > 3)
        refuse(
          path,
          `batchNorm takes samples of shape [C], [C, L] or [C, H, W] but gets ${fmt(input)}`,
        );
      return done(input);
    }
    case 'layerNorm': {
      const normalized = layer.normalizedShape ?? input.slice(-1);
      const tail = input.slice(input.length - normalized.length);
      if (normalized.length > input.length || !same(tail, normalized))
        refuse(
          `${path}.normalizedShape`,
          `${fmt(normalized)} must be the trailing axes of the input sample ${fmt(input)}`,
        );
      return done(input);
    }
    case 'embedding': {
      if (!first)
        refuse(
          path,
          'embedding takes the int32 indices of the model input, so it must be the first layer',
        );
      const n = layer.numEmbeddings;
      if (layer.paddingIdx !== undefined && (layer.paddingIdx < -n || layer.paddingIdx >= n))
        refuse(
          `${path}.paddingIdx`,
          `expected an integer in [-${n}, ${n}) for numEmbeddings ${n}, got ${layer.paddingIdx}`,
        );
      return done([...input, layer.embeddingDim]);
    }
    case 'sequential': {
      const children = inferBlock(layer.layers, input, `${path}.layers`, name, first);
      return done(children[children.length - 1]!.output, children);
    }
    case 'residual': {
      const children = inferBlock(layer.layers, input, `${path}.layers`, name, false);
      const out = children[children.length - 1]!.output;
      if (!same(out, input))
        refuse(
          `${path}.layers`,
          `a residual block must keep its input's shape: input ${fmt(input)}, block output ${fmt(out)}`,
        );
      return done(input, children);
    }
  }
}
