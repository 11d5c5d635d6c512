import * as z from 'zod';
import { SpecError } from './errors.js';
import { type ActivationName, activationNames } from './layers/activations.js';
import type { InitName } from './layers/linear.js';

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

/** Collapses each sample to one axis: [28, 28] → [784]. */
export interface FlattenSpec {
  type: 'flatten';
}

/** A standalone activation. */
export interface ActivationSpec {
  type: 'activation';
  activation: ActivationName;
}

export type LayerSpec = DenseSpec | DropoutSpec | FlattenSpec | ActivationSpec;

/**
 * A model as data: the shape of one input sample and the layers in order.
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
  /** The shape of one sample, without the batch axis, e.g. [784] or [28, 28]. */
  input: number[];
  layers: LayerSpec[];
}

export const initNames = ['default', 'glorot', 'he', 'normal'] as const;
export const layerTypes = ['dense', 'dropout', 'flatten', 'activation'] as const;

const list = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
const positiveInt = () => {
  const why = 'expected a positive integer';
  return z.number(why).int(why).positive(why);
};
const activation = () =>
  z.enum(activationNames, `expected an activation, one of ${list(activationNames)}`);

const denseSchema = z.strictObject({
  type: z.literal('dense'),
  units: positiveInt(),
  activation: activation().optional(),
  bias: z.boolean('expected true or false').optional(),
  init: z.enum(initNames, `expected one of ${list(initNames)}`).optional(),
});
const dropoutSchema = z.strictObject({
  type: z.literal('dropout'),
  rate: (() => {
    const why = 'expected a number in [0, 1)';
    return z.number(why).min(0, why).lt(1, why);
  })(),
});
const flattenSchema = z.strictObject({ type: z.literal('flatten') });
const activationSchema = z.strictObject({
  type: z.literal('activation'),
  activation: activation(),
});

const layerSchemas = {
  dense: denseSchema,
  dropout: dropoutSchema,
  flatten: flattenSchema,
  activation: activationSchema,
} as const;

const layerSchema = z.discriminatedUnion(
  'type',
  [denseSchema, dropoutSchema, flattenSchema, activationSchema],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `expected a layer type, one of ${list(layerTypes)}`
        : issue.code === 'invalid_type'
          ? 'expected a layer object such as { "type": "dense", "units": 16 }'
          : undefined,
  },
);

const specSchema = z.strictObject({
  name: z.string('expected a string').optional(),
  input: z
    .array(positiveInt(), 'expected the shape of one sample, an array of positive integers')
    .min(1, 'expected at least one dimension'),
  layers: z.array(layerSchema, 'expected an array of layers').min(1, 'expected at least one layer'),
});

/** The zod schema of `ModelSpec`, for composing into larger schemas. */
export const modelSpecSchema: z.ZodType<ModelSpec> = specSchema;

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

/**
 * Checks that `value` is a valid model spec and returns it typed. Otherwise
 * throws a `SpecError` listing every problem as `path: why, got value`.
 *
 * @example
 * parseSpec({ input: [784], layers: [{ type: 'dense', units: -3 }] });
 * // SpecError: invalid model spec: layers[0].units: expected a positive integer, got -3
 */
export function parseSpec(value: unknown): ModelSpec {
  const result = specSchema.safeParse(value);
  if (result.success) return result.data;
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
