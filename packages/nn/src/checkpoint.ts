import { NeuriteError, type Tensor } from '@neurite/tensor';
import { buildModel } from './build.js';
import { CheckpointError } from './errors.js';
import { Sequential } from './layers/sequential.js';
import type { Module } from './module.js';
import { Optimizer, type OptimizerState } from './optim/optimizer.js';
import { fromSafetensors, toSafetensors } from './safetensors.js';
import { type ModelSpec, parseSpec } from './spec.js';

/**
 * Checkpoints: a model's parameters as safetensors, with the spec that
 * rebuilds the model and the training metadata in `__metadata__`, so one
 * file restores a working model. In memory here (browser-safe); files are
 * in `@neurite/nn/node`.
 *
 * Metadata keys: `format` = `pt` (what PyTorch's loader expects),
 * `neurite.spec` and `neurite.meta` (JSON strings), and, when an optimiser
 * state is saved, `neurite.optimizer` (its type and hyperparameters as
 * JSON) with its buffers stored as tensors named `optimizer.<buffer>`.
 */

export const SPEC_KEY = 'neurite.spec';
export const META_KEY = 'neurite.meta';
export const OPTIMIZER_KEY = 'neurite.optimizer';
const OPTIMIZER_PREFIX = 'optimizer.';

/** Training metadata: any JSON-serialisable values (epoch, accuracy, schedule state …). */
export type CheckpointMeta = Record<string, unknown>;

/** What a checkpoint holds besides the parameters. */
export interface CheckpointOptions {
  /** The spec the model was built from; defaults to the model's own `spec` (set by `buildModel`). */
  spec?: ModelSpec;
  /** Training metadata, stored as JSON. */
  meta?: CheckpointMeta;
  /** An optimiser (or its `stateDict()`) to save so training can resume exactly. */
  optimizer?: Optimizer | OptimizerState;
}

/** A restored checkpoint. */
export interface Checkpoint {
  /** The model rebuilt from the stored spec, holding the stored parameters. */
  model: Sequential;
  spec: ModelSpec;
  meta: CheckpointMeta;
  /** The optimiser state, if one was saved: pass it to `loadStateDict` of a new optimiser. */
  optimizer: OptimizerState | undefined;
  /** The raw `__metadata__` strings. */
  metadata: Record<string, string>;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * A checkpoint of `model` as safetensors bytes. The spec is checked against
 * the model first (a spec that would rebuild a different model is refused
 * now, not at restore time).
 *
 * @example
 * const bytes = checkpointBytes(model, { meta: { epoch: 3, accuracy: 0.97 }, optimizer: opt });
 */
export function checkpointBytes(model: Module, options: CheckpointOptions = {}): Uint8Array {
  const spec = options.spec ?? (model instanceof Sequential ? model.spec : undefined);
  if (!spec) {
    throw new CheckpointError(
      'checkpointBytes: no spec: pass { spec } or build the model with buildModel, so the checkpoint can rebuild it',
    );
  }
  const parsed = parseSpec(spec);
  const params = model.stateDict();
  const expected = buildModel(parsed).stateDict();
  const problems: string[] = [];
  for (const [name, t] of Object.entries(expected)) {
    const p = params[name];
    if (!p) problems.push(`the spec has '${name}' ${fmt(t.shape)}, the model does not`);
    else if (fmt(p.shape) !== fmt(t.shape))
      problems.push(`'${name}' is ${fmt(t.shape)} by the spec but ${fmt(p.shape)} in the model`);
  }
  for (const name of Object.keys(params)) {
    if (!(name in expected)) problems.push(`the model has '${name}', the spec does not`);
  }
  if (problems.length > 0) {
    throw new CheckpointError(
      `checkpointBytes: the spec does not describe this model:\n  ${problems.join('\n  ')}`,
    );
  }
  const tensors: Record<string, Tensor> = { ...params };
  const metadata: Record<string, string> = {
    format: 'pt',
    [SPEC_KEY]: JSON.stringify(parsed),
    [META_KEY]: JSON.stringify(options.meta ?? {}),
  };
  if (options.optimizer) {
    const state =
      options.optimizer instanceof Optimizer ? options.optimizer.stateDict() : options.optimizer;
    for (const [name, t] of Object.entries(state.tensors)) tensors[OPTIMIZER_PREFIX + name] = t;
    metadata[OPTIMIZER_KEY] = JSON.stringify({ type: state.type, hyper: state.hyper });
  }
  return toSafetensors(tensors, metadata);
}

function parseJson(text: string, key: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(
      `${name}: metadata '${key}' is not valid JSON: ${(e as Error).message}`,
    );
  }
}

/**
 * Rebuilds the model a checkpoint describes and loads its parameters
 * (strictly: every parameter present, none extra, all shapes right).
 *
 * @example
 * const { model, meta, optimizer } = restoreCheckpoint(bytes);
 * const opt = new Adam(model.parameters());
 * if (optimizer) opt.loadStateDict(optimizer);
 */
export function restoreCheckpoint(bytes: Uint8Array, name = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = fromSafetensors(bytes, name);
  const specText = metadata[SPEC_KEY];
  if (specText === undefined) {
    throw new CheckpointError(
      `${name}: no '${SPEC_KEY}' in the metadata, so the model cannot be rebuilt (read its tensors with fromSafetensors)`,
    );
  }
  let spec: ModelSpec;
  try {
    spec = parseSpec(parseJson(specText, SPEC_KEY, name));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${name}: the stored spec is invalid: ${(e as Error).message}`);
  }
  const params: Record<string, Tensor> = {};
  const optimizerTensors: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith(OPTIMIZER_PREFIX)) optimizerTensors[key.slice(OPTIMIZER_PREFIX.length)] = t;
    // Checkpoints of @neurite/nn 0.1 named a spec's layers `layers.0.weight`; now `0.weight`, as PyTorch.
    else params[key.replace(/^layers\.(?=\d)/, '')] = t;
  }
  const dtype = Object.values(params).some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
  const model = buildModel(spec, { dtype });
  try {
    model.loadStateDict(params, { strict: true });
  } catch (e) {
    if (e instanceof NeuriteError) throw new CheckpointError(`${name}: ${e.message}`);
    throw e;
  }
  const meta = parseJson(metadata[META_KEY] ?? '{}', META_KEY, name);
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new CheckpointError(`${name}: metadata '${META_KEY}' is not a JSON object`);
  }
  let optimizer: OptimizerState | undefined;
  const optimizerText = metadata[OPTIMIZER_KEY];
  if (optimizerText !== undefined) {
    const info = parseJson(optimizerText, OPTIMIZER_KEY, name) as Partial<OptimizerState> | null;
    if (!info || typeof info.type !== 'string' || typeof info.hyper !== 'object' || !info.hyper) {
      throw new CheckpointError(
        `${name}: metadata '${OPTIMIZER_KEY}' lacks a type and hyperparameters`,
      );
    }
    optimizer = { type: info.type, hyper: info.hyper, tensors: optimizerTensors };
  }
  return { model, spec, meta: meta as CheckpointMeta, optimizer, metadata };
}
