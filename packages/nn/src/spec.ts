import * as v from 'valibot';
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

// Each field's rule is one check with one message, so a bad value gets one line.
type Schema<T = unknown> = v.GenericSchema<unknown, T>;
const num = (why: string, ok: (n: number) => boolean) => v.pipe(v.number(why), v.check(ok, why));
const positiveInt = () =>
  num('expected a positive integer', (n) => Number.isSafeInteger(n) && n > 0);
const nonNegativeInt = () =>
  num('expected a non-negative integer', (n) => Number.isSafeInteger(n) && n >= 0);
const integer = () => num('expected an integer', Number.isSafeInteger);
const positiveNumber = () => num('expected a positive number', (n) => Number.isFinite(n) && n > 0);
const finite = () => num('expected a finite number', Number.isFinite);
const bool = () => v.boolean('expected true or false');
const oneOf = <const T extends readonly string[]>(
  names: T,
  why = `expected one of ${list(names)}`,
) => v.picklist(names, why);
const nonEmpty = <T>(items: Schema<T>, why: string, what = 'dimension') =>
  v.pipe(v.array(items, why), v.minLength(1, `expected at least one ${what}`));

/**
 * A layer object: every field checked, a missing one reported with that
 * field's own message, and every field it does not know named (with the
 * allowed ones), after the field checks.
 */
function fields<E extends v.ObjectEntries>(
  entries: E,
  why: string,
  also?: (value: Record<string, unknown>, report: (key: string, message: string) => void) => void,
) {
  const known = Object.keys(entries);
  return v.pipe(
    v.looseObject(entries, (issue) => {
      const key = issue.path?.[0]?.key as string | undefined;
      return key === undefined
        ? why
        : (v.safeParse(entries[key]!, undefined).issues?.[0].message ?? why);
    }),
    v.rawCheck(({ dataset, addIssue }) => {
      const value = dataset.value as Record<string, unknown>;
      if (!value || typeof value !== 'object') return;
      const report = (key: string, message: string) =>
        addIssue({
          message,
          input: value[key],
          path: [{ type: 'object', origin: 'value', input: value, key, value: value[key] }],
        });
      for (const key of Object.keys(value))
        if (!known.includes(key)) report(key, `unexpected field (allowed: ${known.join(', ')})`);
      if (dataset.typed) also?.(value, report);
    }),
  );
}

const pairOf = (one: () => Schema<number>, what: string) =>
  v.union(
    [one(), v.strictTuple([one(), one()])],
    `expected ${what} or a pair [height, width] of them`,
  );
const paddingModes = () => oneOf(['same', 'valid'], "expected 'same' or 'valid'");
const paddingMode = () =>
  oneOf(
    ['zeros', 'reflect', 'replicate', 'circular'],
    "expected 'zeros', 'reflect', 'replicate' or 'circular'",
  );
const layer = (type: string, entries: v.ObjectEntries) =>
  fields({ type: v.literal(type), ...entries }, 'expected a layer object');

/** Each activation setting, and the activations that have it. */
const settingOwners: Record<string, readonly ActivationName[]> = {
  alpha: ['leakyRelu', 'elu'],
  beta: ['softplus'],
  threshold: ['softplus'],
  approximate: ['gelu'],
};
const blockLayers = () =>
  nonEmpty(
    v.lazy(() => layerSchema),
    'expected an array of layers',
    'layer',
  );
const conv = (pair: boolean) => ({
  outChannels: positiveInt(),
  kernelSize: pair ? pairOf(positiveInt, 'a positive integer') : positiveInt(),
  stride: v.optional(pair ? pairOf(positiveInt, 'a positive integer') : positiveInt()),
  padding: v.optional(
    pair
      ? v.union(
          [nonNegativeInt(), v.strictTuple([nonNegativeInt(), nonNegativeInt()]), paddingModes()],
          "expected a non-negative integer, a pair of them, 'same' or 'valid'",
        )
      : v.union(
          [nonNegativeInt(), paddingModes()],
          "expected a non-negative integer, 'same' or 'valid'",
        ),
  ),
  dilation: v.optional(pair ? pairOf(positiveInt, 'a positive integer') : positiveInt()),
  groups: v.optional(positiveInt()),
  paddingMode: v.optional(paddingMode()),
  bias: v.optional(bool()),
  inChannels: v.optional(positiveInt()),
});

const layerSchemas = [
  layer('dense', {
    units: positiveInt(),
    activation: v.optional(
      oneOf(activationNames, `expected an activation, one of ${list(activationNames)}`),
    ),
    bias: v.optional(bool()),
    init: v.optional(oneOf(initNames)),
  }),
  layer('dropout', {
    rate: num('expected a number in [0, 1)', (n) => n >= 0 && n < 1),
  }),
  layer('flatten', { startDim: v.optional(integer()), endDim: v.optional(integer()) }),
  fields(
    {
      type: v.literal('activation'),
      activation: oneOf(activationNames, `expected an activation, one of ${list(activationNames)}`),
      alpha: v.optional(finite()),
      beta: v.optional(
        v.pipe(
          finite(),
          v.check((b) => b !== 0, 'expected a finite non-zero number'),
        ),
      ),
      threshold: v.optional(finite()),
      approximate: v.optional(oneOf(['none', 'tanh'], "expected 'none' or 'tanh'")),
    },
    'expected a layer object',
    (layer, report) => {
      const name = layer.activation as ActivationName;
      if (!activationNames.includes(name)) return;
      for (const [field, names] of Object.entries(settingOwners))
        if (layer[field] !== undefined && !names.includes(name))
          report(
            field,
            `expected only with activation ${names.map((n) => `'${n}'`).join(' or ')}, not '${name}'`,
          );
    },
  ),
  layer('reshape', {
    shape: v.pipe(
      nonEmpty(
        num(
          'expected a positive integer or -1',
          (d) => Number.isSafeInteger(d) && (d > 0 || d === -1),
        ),
        'expected the shape of one sample, an array of positive integers (one may be -1)',
      ),
      v.check((s) => s.filter((d) => d === -1).length <= 1, 'expected at most one -1'),
    ),
  }),
  layer('batchNorm', {
    eps: v.optional(positiveNumber()),
    momentum: v.optional(
      v.nullable(num('expected a number in [0, 1] or null', (n) => n >= 0 && n <= 1)),
    ),
    affine: v.optional(bool()),
    trackRunningStats: v.optional(bool()),
  }),
  layer('layerNorm', {
    normalizedShape: v.optional(nonEmpty(positiveInt(), 'expected an array of positive integers')),
    eps: v.optional(positiveNumber()),
    elementwiseAffine: v.optional(bool()),
  }),
  layer('embedding', {
    numEmbeddings: positiveInt(),
    embeddingDim: positiveInt(),
    paddingIdx: v.optional(integer()),
  }),
  layer('conv1d', conv(false)),
  layer('conv2d', conv(true)),
  layer('maxPool2d', {
    kernelSize: pairOf(positiveInt, 'a positive integer'),
    stride: v.optional(pairOf(positiveInt, 'a positive integer')),
    padding: v.optional(pairOf(nonNegativeInt, 'a non-negative integer')),
    dilation: v.optional(pairOf(positiveInt, 'a positive integer')),
  }),
  layer('avgPool2d', {
    kernelSize: pairOf(positiveInt, 'a positive integer'),
    stride: v.optional(pairOf(positiveInt, 'a positive integer')),
    padding: v.optional(pairOf(nonNegativeInt, 'a non-negative integer')),
    countIncludePad: v.optional(bool()),
  }),
  layer('adaptiveAvgPool2d', { outputSize: pairOf(positiveInt, 'a positive integer') }),
  layer('sequential', { layers: blockLayers() }),
  layer('residual', { layers: blockLayers() }),
];

const plainObject = (why: string) =>
  v.custom<object>((x) => !!x && typeof x === 'object' && !Array.isArray(x), why);

const layerSchema = v.pipe(
  plainObject('expected a layer object such as { "type": "dense", "units": 16 }'),
  v.variant('type', layerSchemas, `expected a layer type, one of ${list(layerTypes)}`),
) as unknown as Schema<LayerSpec>;

/**
 * The valibot schema of `ModelSpec`, for composing into larger schemas. It
 * checks the fields only; `parseSpec` also infers the shapes through the
 * stack, and refuses fields named `__proto__`, `constructor` or `prototype`,
 * which valibot's object schemas pass over.
 *
 * @example
 * import * as v from 'valibot';
 * const config = v.object({ epochs: v.number(), model: modelSpecSchema });
 * const { model } = v.parse(config, JSON.parse(text));
 */
export const modelSpecSchema: Schema<ModelSpec> = v.pipe(
  plainObject('expected a model spec, an object { input, layers }'),
  fields(
    {
      name: v.optional(v.string('expected a string')),
      input: nonEmpty(
        positiveInt(),
        'expected the shape of one sample, an array of positive integers',
      ),
      layers: nonEmpty(layerSchema, 'expected an array of layers', 'layer'),
    },
    'expected a model spec',
  ),
) as unknown as Schema<ModelSpec>;

/** `layers[1].units` from ['layers', 1, 'units']. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(the spec itself)';
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return String(value);
  }
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
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
  const result = v.safeParse(modelSpecSchema, value);
  const lines = (result.issues ?? []).map(
    (issue) =>
      `${formatPath(issue.path?.map((p) => p.key as PropertyKey) ?? [])}: ${issue.message}, got ${show(issue.input)}`,
  );
  lines.push(...reservedFields(value));
  if (lines.length > 0) throw new SpecError(lines);
  const spec = result.output as ModelSpec;
  inferShapes(spec);
  return spec;
}

const RESERVED = ['__proto__', 'constructor', 'prototype'];

/**
 * Fields named `__proto__`, `constructor` or `prototype` (JSON can hold
 * them), which valibot's object schemas pass over unread: refused here, as
 * every other unknown field is.
 */
function reservedFields(value: unknown): string[] {
  const found: string[] = [];
  const path: PropertyKey[] = [];
  const visit = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    const list = Array.isArray(node);
    for (const key of Object.keys(node)) {
      const child = (node as Record<string, unknown>)[key];
      path.push(list ? Number(key) : key);
      if (!list && RESERVED.includes(key))
        found.push(`${formatPath(path)}: unexpected field, got ${show(child)}`);
      else visit(child);
      path.pop();
    }
  };
  visit(value);
  return found;
}
