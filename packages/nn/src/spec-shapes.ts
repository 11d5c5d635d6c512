import { NeuriteError } from '@neurite/tensor';
import { SpecError } from './errors.js';
import { flattenShape, reshapeShape } from './layers/flatten.js';
import type {
  AvgPool2dSpec,
  Conv1dSpec,
  Conv2dSpec,
  LayerSpec,
  MaxPool2dSpec,
  ModelSpec,
} from './spec.js';

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
    case 'conv1d':
    case 'conv2d':
      return done(convOutput(layer, input, path));
    case 'maxPool2d':
    case 'avgPool2d':
      return done(poolOutput(layer, input, path));
    case 'adaptiveAvgPool2d': {
      if (input.length !== 3)
        refuse(path, `adaptiveAvgPool2d takes samples of shape [C, H, W] but gets ${fmt(input)}`);
      return done([input[0]!, ...pairOf(layer.outputSize)]);
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

const pairOf = (v: number | readonly number[]): number[] =>
  typeof v === 'number' ? [v, v] : [v[0]!, v[1]!];

/** Output size along each axis of a window sliding over `n` (PyTorch's floor rule), or the axes that do not fit. */
function slide(
  n: readonly number[],
  k: readonly number[],
  s: readonly number[],
  p: readonly number[],
  d: readonly number[],
): { size: number[]; span: number[]; padded: number[] } {
  const span = k.map((v, i) => d[i]! * (v - 1) + 1);
  const padded = n.map((v, i) => v + 2 * p[i]!);
  const size = padded.map((v, i) => Math.floor((v - span[i]!) / s[i]!) + 1);
  return { size, span, padded };
}

function convOutput(layer: Conv1dSpec | Conv2dSpec, input: number[], path: string): number[] {
  const dims = layer.type === 'conv2d' ? 2 : 1;
  const layout = dims === 2 ? '[C, H, W]' : '[C, L]';
  if (input.length !== dims + 1) {
    const hint =
      dims === 2 && input.length === 1 && Number.isInteger(Math.sqrt(input[0]!))
        ? `; add { "type": "reshape", "shape": [1, ${Math.sqrt(input[0]!)}, ${Math.sqrt(input[0]!)}] } before it`
        : '';
    refuse(path, `${layer.type} takes samples of shape ${layout} but gets ${fmt(input)}${hint}`);
  }
  const channels = input[0]!;
  const groups = layer.groups ?? 1;
  if (layer.inChannels !== undefined && layer.inChannels !== channels)
    refuse(
      `${path}.inChannels`,
      `${layer.inChannels} does not match the ${channels} channels of the input ${fmt(input)}`,
    );
  if (channels % groups !== 0)
    refuse(
      `${path}.groups`,
      `${groups} does not divide the ${channels} channels of the input ${fmt(input)}`,
    );
  if (layer.outChannels % groups !== 0)
    refuse(`${path}.groups`, `${groups} does not divide outChannels ${layer.outChannels}`);
  const spatial = input.slice(1);
  const k = dims === 2 ? pairOf(layer.kernelSize) : [layer.kernelSize as number];
  const s = dims === 2 ? pairOf(layer.stride ?? 1) : [(layer.stride as number | undefined) ?? 1];
  const d =
    dims === 2 ? pairOf(layer.dilation ?? 1) : [(layer.dilation as number | undefined) ?? 1];
  const padding = layer.padding ?? 0;
  if (padding === 'same') {
    if (s.some((v) => v !== 1))
      refuse(`${path}.padding`, `'same' needs stride 1, got stride ${fmt(s)}`);
    return [layer.outChannels, ...spatial];
  }
  const p =
    padding === 'valid' ? spatial.map(() => 0) : dims === 2 ? pairOf(padding) : [padding as number];
  if (layer.paddingMode === 'reflect' && p.some((v, i) => v >= spatial[i]!))
    refuse(
      `${path}.padding`,
      `reflect padding ${fmt(p)} must be smaller than the input's spatial size ${fmt(spatial)} (input ${fmt(input)})`,
    );
  const { size, span, padded } = slide(spatial, k, s, p, d);
  if (span.some((v, i) => v > padded[i]!))
    refuse(
      `${path}.kernelSize`,
      `kernel ${fmt(k)}${d.some((v) => v !== 1) ? ` with dilation ${fmt(d)}` : ''} spans ${fmt(span)}, larger than the padded input ${fmt(padded)} (input ${fmt(input)}, padding ${fmt(p)})`,
    );
  return [layer.outChannels, ...size];
}

function poolOutput(layer: MaxPool2dSpec | AvgPool2dSpec, input: number[], path: string): number[] {
  if (input.length !== 3)
    refuse(path, `${layer.type} takes samples of shape [C, H, W] but gets ${fmt(input)}`);
  const k = pairOf(layer.kernelSize);
  const s = pairOf(layer.stride ?? layer.kernelSize);
  const p = pairOf(layer.padding ?? 0);
  const d = pairOf(layer.type === 'maxPool2d' ? (layer.dilation ?? 1) : 1);
  if (p.some((v, i) => 2 * v > k[i]!))
    refuse(`${path}.padding`, `${fmt(p)} must be at most half of kernelSize ${fmt(k)}`);
  const spatial = input.slice(1);
  const { size, span, padded } = slide(spatial, k, s, p, d);
  if (span.some((v, i) => v > padded[i]!))
    refuse(
      `${path}.kernelSize`,
      `kernel ${fmt(k)}${d.some((v) => v !== 1) ? ` with dilation ${fmt(d)}` : ''} spans ${fmt(span)}, larger than the padded input ${fmt(padded)} (input ${fmt(input)}, padding ${fmt(p)})`,
    );
  return [input[0]!, ...size];
}
