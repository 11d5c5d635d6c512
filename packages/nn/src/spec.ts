import * as z from 'zod/mini';
import { SpecError } from './errors.js';
import { tooDeep } from './json.js';
import { type ActivationName, activationNames } from './layers/activations.js';
import type { InitName } from './layers/linear.js';
import { inferShapes } from './spec-shapes.js';

/**
 * Declarative models: a JSON-serialisable description of a network, checked
 * by a schema before anything is built, so a typo fails early with the path
 * of the field and what was wrong with it.
 */

/** A fully connected layer: `units` neurons, each act(w·a + b). */
export interface DenseSpec {
  type: 'dense';
  units: number;
  /** Default `linear` (none). */
  activation?: ActivationName;
  /** Default true. */
  bias?: boolean;
  /** Default `default` (PyTorch's Linear). */
  init?: InitName;
}

/** Zeroes a fraction `rate` of activations while training. */
export interface DropoutSpec {
  type: 'dropout';
  rate: number;
}

/**
 * Collapses axes `startDim`…`endDim` of the batched tensor into one, as
 * PyTorch's `nn.Flatten` (defaults 1 and −1: each sample to one axis,
 * [N, 16, 4, 4] → [N, 256]).
 */
export interface FlattenSpec {
  type: 'flatten';
  /** Default 1 (the first axis after the batch axis). */
  startDim?: number;
  /** Default −1 (the last axis). */
  endDim?: number;
}

/** A standalone activation. */
export interface ActivationSpec {
  type: 'activation';
  activation: ActivationName;
  /** `leakyRelu`'s negative slope (default 0.01) or `elu`'s α (default 1). */
  alpha?: number;
  /** `softplus`'s β (default 1). */
  beta?: number;
  /** `softplus`'s threshold (default 20). */
  threshold?: number;
  /** `gelu`: `'none'` (exact, default) or `'tanh'`. */
  approximate?: 'none' | 'tanh';
}

/** Reshapes each sample (the batch axis is kept); one entry may be −1. */
export interface ReshapeSpec {
  type: 'reshape';
  shape: number[];
}

/**
 * Batch normalisation over axis 1 of the batched tensor: `BatchNorm1d` after
 * a [C] or [C, L] sample, `BatchNorm2d` after a [C, H, W] one.
 */
export interface BatchNormSpec {
  type: 'batchNorm';
  /** Default 1e-5. */
  eps?: number;
  /** Default 0.1; null for a cumulative average. */
  momentum?: number | null;
  /** Default true. */
  affine?: boolean;
  /** Default true. */
  trackRunningStats?: boolean;
}

/** Layer normalisation over the last axes of each sample. */
export interface LayerNormSpec {
  type: 'layerNorm';
  /** The trailing axes to normalise over; default the last axis of the input. */
  normalizedShape?: number[];
  /** Default 1e-5. */
  eps?: number;
  /** Default true. */
  elementwiseAffine?: boolean;
}

/** A lookup table: int32 indices → vectors. It takes the model's input, so it comes first. */
export interface EmbeddingSpec {
  type: 'embedding';
  numEmbeddings: number;
  embeddingDim: number;
  paddingIdx?: number;
}

/** A size per spatial axis: one number for both, or [height, width]. */
export type SpecPair = number | [number, number];

/**
 * A 2-D convolution (PyTorch's `Conv2d`) over samples [C, H, W]; the input
 * channels are inferred (give `inChannels` to have them checked).
 */
export interface Conv2dSpec {
  type: 'conv2d';
  outChannels: number;
  kernelSize: SpecPair;
  /** Default 1. */
  stride?: SpecPair;
  /** Default 0; `'same'` keeps the size (stride 1 only). */
  padding?: SpecPair | 'same' | 'valid';
  /** Default 1. */
  dilation?: SpecPair;
  /** Default 1. */
  groups?: number;
  /** What the padding holds. Default `zeros`. */
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
  /** Default true. */
  bias?: boolean;
  inChannels?: number;
}

/** A 1-D convolution (PyTorch's `Conv1d`) over samples [C, L]. */
export interface Conv1dSpec {
  type: 'conv1d';
  outChannels: number;
  kernelSize: number;
  stride?: number;
  padding?: number | 'same' | 'valid';
  dilation?: number;
  groups?: number;
  paddingMode?: 'zeros' | 'reflect' | 'replicate' | 'circular';
  bias?: boolean;
  inChannels?: number;
}

/** 2-D max pooling over samples [C, H, W]; stride defaults to the kernel size. */
export interface MaxPool2dSpec {
  type: 'maxPool2d';
  kernelSize: SpecPair;
  stride?: SpecPair;
  padding?: SpecPair;
  dilation?: SpecPair;
}

/** 2-D average pooling over samples [C, H, W]; stride defaults to the kernel size. */
export interface AvgPool2dSpec {
  type: 'avgPool2d';
  kernelSize: SpecPair;
  stride?: SpecPair;
  padding?: SpecPair;
  /** Default true. */
  countIncludePad?: boolean;
}

/** Average pooling to a fixed size (1: global average pooling) over samples [C, H, W]. */
export interface AdaptiveAvgPool2dSpec {
  type: 'adaptiveAvgPool2d';
  outputSize: SpecPair;
}

/** Layers applied in turn, as one layer (a `Sequential` inside the model). */
export interface SequentialSpec {
  type: 'sequential';
  layers: LayerSpec[];
}

/** A residual block: output = input + layers(input); the block must keep the shape. */
export interface ResidualSpec {
  type: 'residual';
  layers: LayerSpec[];
}

export type LayerSpec =
  | DenseSpec
  | DropoutSpec
  | FlattenSpec
  | ActivationSpec
  | ReshapeSpec
  | BatchNormSpec
  | LayerNormSpec
  | EmbeddingSpec
  | Conv1dSpec
  | Conv2dSpec
  | MaxPool2dSpec
  | AvgPool2dSpec
  | AdaptiveAvgPool2dSpec
  | SequentialSpec
  | ResidualSpec;

/**
 * A model as data: the shape of one input sample and the layers in order.
 * Plain JSON: it can be stored, sent and checked. Shapes are inferred
 * through the whole stack when it is parsed.
 *
 * @example
 * const spec: ModelSpec = {
 *   input: [784],
 *   layers: [
 *     { type: 'dense', units: 16, activation: 'sigmoid' },
 *     { type: 'dense', units: 16, activation: 'sigmoid' },
 *     { type: 'dense', units: 10, activation: 'sigmoid' },
 *   ],
 * };
 */
export interface ModelSpec {
  /** An optional label, shown by `summary`. */
  name?: string;
  /** The shape of one sample, without the batch axis, e.g. [784] or [1, 28, 28]. */
  input: number[];
  layers: LayerSpec[];
}

export const initNames = ['default', 'glorot', 'he', 'normal'] as const;
export const layerTypes = [
  'dense',
  'dropout',
  'flatten',
  'activation',
  'reshape',
  'batchNorm',
  'layerNorm',
  'embedding',
  'conv1d',
  'conv2d',
  'maxPool2d',
  'avgPool2d',
  'adaptiveAvgPool2d',
  'sequential',
  'residual',
] as const;

const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
const positiveInt = () => {
  const why = 'expected a positive integer';
  return z.int(why).check(z.positive(why));
};
const integer = () => {
  const why = 'expected an integer';
  return z.int(why);
};
const positiveNumber = () => {
  const why = 'expected a positive number';
  return z.number(why).check(z.positive(why));
};
const bool = () => z.boolean('expected true or false');
const activation = () =>
  z.enum(activationNames, `expected an activation, one of ${list(activationNames)}`);

const denseSchema = z.strictObject({
  type: z.literal('dense'),
  units: positiveInt(),
  activation: z.optional(activation()),
  bias: z.optional(bool()),
  init: z.optional(z.enum(initNames, `expected one of ${list(initNames)}`)),
});
const dropoutSchema = z.strictObject({
  type: z.literal('dropout'),
  rate: (() => {
    const why = 'expected a number in [0, 1)';
    return z.number(why).check(z.gte(0, why), z.lt(1, why));
  })(),
});
const flattenSchema = z.strictObject({
  type: z.literal('flatten'),
  startDim: z.optional(integer()),
  endDim: z.optional(integer()),
});
const finite = () =>
  z
    .number('expected a finite number')
    .check(z.refine((v) => Number.isFinite(v), 'expected a finite number'));
/** Each activation setting, and the activations that have it. */
const settingOwners: Record<string, readonly ActivationName[]> = {
  alpha: ['leakyRelu', 'elu'],
  beta: ['softplus'],
  threshold: ['softplus'],
  approximate: ['gelu'],
};
const activationSchema = z
  .strictObject({
    type: z.literal('activation'),
    activation: activation(),
    alpha: z.optional(finite()),
    beta: z.optional(finite().check(z.refine((b) => b !== 0, 'expected a finite non-zero number'))),
    threshold: z.optional(finite()),
    approximate: z.optional(z.enum(['none', 'tanh'], "expected 'none' or 'tanh'")),
  })
  .check(
    z.superRefine((layer, ctx) => {
      for (const [field, names] of Object.entries(settingOwners)) {
        if (
          (layer as Record<string, unknown>)[field] !== undefined &&
          !names.includes(layer.activation)
        )
          ctx.addIssue({
            code: 'custom',
            path: [field],
            input: layer,
            message: `expected only with activation ${names.map((n) => `'${n}'`).join(' or ')}, not '${layer.activation}'`,
          });
      }
    }),
  );
const reshapeSchema = z.strictObject({
  type: z.literal('reshape'),
  shape: z
    .array(
      z
        .int('expected a positive integer or -1')
        .check(z.refine((d) => d > 0 || d === -1, 'expected a positive integer or -1')),
      'expected the shape of one sample, an array of positive integers (one may be -1)',
    )
    .check(
      z.minLength(1, 'expected at least one dimension'),
      z.refine((s) => s.filter((d) => d === -1).length <= 1, 'expected at most one -1'),
    ),
});
const batchNormSchema = z.strictObject({
  type: z.literal('batchNorm'),
  eps: z.optional(positiveNumber()),
  momentum: z.optional(
    (() => {
      const why = 'expected a number in [0, 1] or null';
      return z.nullable(z.number(why).check(z.gte(0, why), z.lte(1, why)));
    })(),
  ),
  affine: z.optional(bool()),
  trackRunningStats: z.optional(bool()),
});
const layerNormSchema = z.strictObject({
  type: z.literal('layerNorm'),
  normalizedShape: z.optional(
    z
      .array(positiveInt(), 'expected an array of positive integers')
      .check(z.minLength(1, 'expected at least one dimension')),
  ),
  eps: z.optional(positiveNumber()),
  elementwiseAffine: z.optional(bool()),
});
const embeddingSchema = z.strictObject({
  type: z.literal('embedding'),
  numEmbeddings: positiveInt(),
  embeddingDim: positiveInt(),
  paddingIdx: z.optional(integer()),
});
const nonNegativeInt = () => {
  const why = 'expected a non-negative integer';
  return z.int(why).check(z.gte(0, why));
};
const pairOf = (one: () => z.ZodMiniType<number>, what: string) =>
  z.union([one(), z.tuple([one(), one()])], `expected ${what} or a pair [height, width] of them`);
const paddingModes = () => z.enum(['same', 'valid'], "expected 'same' or 'valid'");
const paddingMode = () =>
  z.enum(
    ['zeros', 'reflect', 'replicate', 'circular'],
    "expected 'zeros', 'reflect', 'replicate' or 'circular'",
  );
const conv2dSchema = z.strictObject({
  type: z.literal('conv2d'),
  outChannels: positiveInt(),
  kernelSize: pairOf(positiveInt, 'a positive integer'),
  stride: z.optional(pairOf(positiveInt, 'a positive integer')),
  padding: z.optional(
    z.union(
      [nonNegativeInt(), z.tuple([nonNegativeInt(), nonNegativeInt()]), paddingModes()],
      "expected a non-negative integer, a pair of them, 'same' or 'valid'",
    ),
  ),
  dilation: z.optional(pairOf(positiveInt, 'a positive integer')),
  groups: z.optional(positiveInt()),
  paddingMode: z.optional(paddingMode()),
  bias: z.optional(bool()),
  inChannels: z.optional(positiveInt()),
});
const conv1dSchema = z.strictObject({
  type: z.literal('conv1d'),
  outChannels: positiveInt(),
  kernelSize: positiveInt(),
  stride: z.optional(positiveInt()),
  padding: z.optional(
    z.union(
      [nonNegativeInt(), paddingModes()],
      "expected a non-negative integer, 'same' or 'valid'",
    ),
  ),
  dilation: z.optional(positiveInt()),
  groups: z.optional(positiveInt()),
  paddingMode: z.optional(paddingMode()),
  bias: z.optional(bool()),
  inChannels: z.optional(positiveInt()),
});
const maxPool2dSchema = z.strictObject({
  type: z.literal('maxPool2d'),
  kernelSize: pairOf(positiveInt, 'a positive integer'),
  stride: z.optional(pairOf(positiveInt, 'a positive integer')),
  padding: z.optional(pairOf(nonNegativeInt, 'a non-negative integer')),
  dilation: z.optional(pairOf(positiveInt, 'a positive integer')),
});
const avgPool2dSchema = z.strictObject({
  type: z.literal('avgPool2d'),
  kernelSize: pairOf(positiveInt, 'a positive integer'),
  stride: z.optional(pairOf(positiveInt, 'a positive integer')),
  padding: z.optional(pairOf(nonNegativeInt, 'a non-negative integer')),
  countIncludePad: z.optional(bool()),
});
const adaptiveAvgPool2dSchema = z.strictObject({
  type: z.literal('adaptiveAvgPool2d'),
  outputSize: pairOf(positiveInt, 'a positive integer'),
});
const blockLayers = () =>
  z
    .array(
      z.lazy(() => layerSchema),
      'expected an array of layers',
    )
    .check(z.minLength(1, 'expected at least one layer'));
const sequentialSchema = z.strictObject({
  type: z.literal('sequential'),
  get layers() {
    return blockLayers();
  },
});
const residualSchema = z.strictObject({
  type: z.literal('residual'),
  get layers() {
    return blockLayers();
  },
});

const layerSchemas = {
  dense: denseSchema,
  dropout: dropoutSchema,
  flatten: flattenSchema,
  activation: activationSchema,
  reshape: reshapeSchema,
  batchNorm: batchNormSchema,
  layerNorm: layerNormSchema,
  embedding: embeddingSchema,
  conv1d: conv1dSchema,
  conv2d: conv2dSchema,
  maxPool2d: maxPool2dSchema,
  avgPool2d: avgPool2dSchema,
  adaptiveAvgPool2d: adaptiveAvgPool2dSchema,
  sequential: sequentialSchema,
  residual: residualSchema,
} as const;

const layerSchema: z.ZodMiniType<LayerSpec> = z.discriminatedUnion(
  'type',
  [
    denseSchema,
    dropoutSchema,
    flattenSchema,
    activationSchema,
    reshapeSchema,
    batchNormSchema,
    layerNormSchema,
    embeddingSchema,
    conv1dSchema,
    conv2dSchema,
    maxPool2dSchema,
    avgPool2dSchema,
    adaptiveAvgPool2dSchema,
    sequentialSchema,
    residualSchema,
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `expected a layer type, one of ${list(layerTypes)}`
        : issue.code === 'invalid_type'
          ? 'expected a layer object such as { "type": "dense", "units": 16 }'
          : undefined,
  },
) as unknown as z.ZodMiniType<LayerSpec>;

const specSchema = z.strictObject({
  name: z.optional(z.string('expected a string')),
  input: z
    .array(positiveInt(), 'expected the shape of one sample, an array of positive integers')
    .check(z.minLength(1, 'expected at least one dimension')),
  layers: z
    .array(layerSchema, 'expected an array of layers')
    .check(z.minLength(1, 'expected at least one layer')),
});

/**
 * The zod schema of `ModelSpec`, for composing into larger schemas. It is a
 * `zod/mini` schema (a third of zod's size in a bundle); zod's own `object`,
 * `array` … take it as they take any zod schema.
 */
export const modelSpecSchema: z.ZodMiniType<ModelSpec> =
  specSchema as unknown as z.ZodMiniType<ModelSpec>;

/** `layers[1].units` from ['layers', 1, 'units']. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(the spec itself)';
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function allowedKeys(input: unknown, path: readonly PropertyKey[]): string[] {
  if (path.length === 0) return Object.keys(specSchema.shape);
  const layer = valueAt(input, path) as { type?: unknown } | undefined;
  const type = layer?.type;
  if (typeof type !== 'string' || !Object.hasOwn(layerSchemas, type)) return [];
  return Object.keys(layerSchemas[type as keyof typeof layerSchemas].shape);
}

/** Deeper than this, a spec is refused before it is validated (validation recurses). */
const MAX_SPEC_DEPTH = 64;

/**
 * Checks that `value` is a valid model spec (every field, then the shapes
 * through the whole stack, with `inferShapes`) and returns it typed.
 * Otherwise throws a `SpecError` listing every problem as
 * `path: why, got value`, or naming the layer path, the field and the shapes
 * that do not fit. Use it on JSON of unknown shape before `buildModel`.
 *
 * @example
 * parseSpec({ input: [784], layers: [{ type: 'dense', units: -3 }] });
 * // SpecError: invalid model spec: layers[0].units: expected a positive integer, got -3
 */
export function parseSpec(value: unknown): ModelSpec {
  const deep = tooDeep(value, MAX_SPEC_DEPTH);
  if (deep) {
    const shown = deep.slice(0, 6).map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`));
    throw new SpecError([
      `${shown.join('').replace(/^\./, '')}…: nested deeper than ${MAX_SPEC_DEPTH} levels`,
    ]);
  }
  const result = specSchema.safeParse(value);
  if (result.success) {
    const spec = result.data as ModelSpec;
    inferShapes(spec);
    return spec;
  }
  const lines: string[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(value, issue.path);
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        lines.push(
          `${formatPath(path)}: unexpected field (allowed: ${allowed.join(', ')}), got ${show(valueAt(value, path))}`,
        );
      }
    } else {
      lines.push(
        `${formatPath(issue.path)}: ${issue.message}, got ${show(valueAt(value, issue.path))}`,
      );
    }
  }
  throw new SpecError(lines);
}
