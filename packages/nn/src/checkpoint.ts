import { NeuriteError, Rng, type Tensor } from '@neurite/tensor';
import { buildModel, DEFAULT_MAX_VALUES } from './build.js';
import { CheckpointError } from './errors.js';
import { Sequential } from './layers/sequential.js';
import type { Module } from './module.js';
import type { OptimizerState } from './optim/optimizer.js';
import { fromSafetensors, toSafetensors } from './safetensors.js';
import { type ModelSpec, parseSpec } from './spec.js';
import { inferShapes } from './spec-shapes.js';
import { modelValues } from './spec-size.js';

/**
 * Checkpoints of any module: its parameters and buffers as safetensors (in
 * the names of its state dict, so PyTorch reads them), with, in
 * `__metadata__`, the training metadata, the optimiser's type and
 * hyperparameters (its buffers are tensors named `optimizer.<buffer>`), the
 * schedule's state, and the spec when the model was built from one (then
 * the checkpoint rebuilds its own model). In memory here (browser-safe);
 * files are in `@neurite/nn/node`.
 *
 * Metadata keys: `format` = `pt` (what PyTorch's loader expects),
 * `neurite.spec`, `neurite.meta`, `neurite.optimizer`, `neurite.scheduler`,
 * and `neurite.rng`: the state of every generator the model's modules hold
 * (a dropout's masks), by path such as `3.rng`, so that a resumed run draws
 * the same masks (JSON strings).
 */

export const SPEC_KEY = 'neurite.spec';
export const META_KEY = 'neurite.meta';
export const OPTIMIZER_KEY = 'neurite.optimizer';
export const SCHEDULER_KEY = 'neurite.scheduler';
export const RNG_KEY = 'neurite.rng';
const OPTIMIZER_PREFIX = 'optimizer.';

/** Training metadata: any JSON-serialisable values (epoch, accuracy …). */
export type CheckpointMeta = Record<string, unknown>;

/** Anything with an optimiser's state dict: every optimiser of this package (LBFGS too). */
export interface Stateful<S> {
  stateDict(): S;
  loadStateDict(state: S): void;
}

/** A learning-rate schedule (or anything with a JSON state): what a checkpoint saves of it. */
// biome-ignore lint/suspicious/noExplicitAny: a schedule's state is whatever JSON its class defines.
export type ScheduleLike = Stateful<any>;

/** What a checkpoint holds besides the parameters and buffers. */
export interface CheckpointOptions {
  /**
   * The spec the model was built from; defaults to the model's own `spec`
   * (set by `buildModel`). Without one, the checkpoint loads into a model
   * you construct (`{ into: model }`).
   */
  spec?: ModelSpec;
  /** Training metadata, stored as JSON. */
  meta?: CheckpointMeta;
  /** An optimiser (or its `stateDict()`) to save so training can resume exactly. */
  optimizer?: Stateful<OptimizerState> | OptimizerState;
  /** A learning-rate schedule (or its `stateDict()`) to save with it. */
  scheduler?: ScheduleLike | Record<string, unknown>;
}

/** Options of `restoreCheckpoint` / `loadCheckpoint` for a model you construct. */
export interface RestoreOptions<M extends Module = Module> {
  /**
   * The model to load into (any `Module`), strictly: every parameter and
   * buffer present with its shape, nothing extra. Without it the model is
   * rebuilt from the checkpoint's spec.
   */
  into?: M;
  /** An optimiser over the model's parameters to restore (the checkpoint must hold its state). */
  optimizer?: Stateful<OptimizerState>;
  /** A schedule to restore (the checkpoint must hold its state). */
  scheduler?: ScheduleLike;
  /** The name used in messages (a file path). Default `checkpoint`. */
  name?: string;
}

/** A restored checkpoint. */
export interface Checkpoint<M extends Module = Module> {
  /** The model holding the stored parameters and buffers: the one passed as `into`, or rebuilt from the spec. */
  model: M;
  /** The stored spec, if the model was built from one. */
  spec: ModelSpec | undefined;
  meta: CheckpointMeta;
  /** The stored optimiser state, if any (already loaded into `optimizer` when one was passed). */
  optimizer: OptimizerState | undefined;
  /** The stored schedule state, if any (already loaded into `scheduler` when one was passed). */
  scheduler: Record<string, unknown> | undefined;
  /** The raw `__metadata__` strings. */
  metadata: Record<string, string>;
}

/** A checkpoint that rebuilt its model from its spec. */
export interface SpecCheckpoint extends Checkpoint<Sequential> {
  spec: ModelSpec;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * A checkpoint of any `model` as safetensors bytes: its parameters and
 * buffers, and whatever of the spec, metadata, optimiser and schedule is
 * given. A spec, when there is one, is checked against the model first (a
 * spec that would rebuild a different model is refused now, not at restore
 * time).
 *
 * @example
 * const bytes = checkpointBytes(model, { meta: { epoch: 3 }, optimizer: opt, scheduler: schedule });
 */
export function checkpointBytes(model: Module, options: CheckpointOptions = {}): Uint8Array {
  const spec = options.spec ?? (model instanceof Sequential ? model.spec : undefined);
  const state = model.stateDict();
  const metadata: Record<string, string> = {
    format: 'pt',
    [META_KEY]: JSON.stringify(options.meta ?? {}),
  };
  if (spec) {
    const parsed = parseSpec(spec);
    const expected = buildModel(parsed).stateDict();
    const problems: string[] = [];
    for (const [name, t] of Object.entries(expected)) {
      const p = state[name];
      if (!p) problems.push(`the spec has '${name}' ${fmt(t.shape)}, the model does not`);
      else if (fmt(p.shape) !== fmt(t.shape))
        problems.push(`'${name}' is ${fmt(t.shape)} by the spec but ${fmt(p.shape)} in the model`);
    }
    for (const name of Object.keys(state)) {
      if (!(name in expected)) problems.push(`the model has '${name}', the spec does not`);
    }
    if (problems.length > 0) {
      throw new CheckpointError(
        `checkpointBytes: the spec does not describe this model:\n  ${problems.join('\n  ')}`,
      );
    }
    metadata[SPEC_KEY] = JSON.stringify(parsed);
  }
  const tensors: Record<string, Tensor> = { ...state };
  if (options.optimizer) {
    const clash = Object.keys(state).find((k) => k.startsWith(OPTIMIZER_PREFIX));
    if (clash)
      throw new CheckpointError(
        `checkpointBytes: the model's '${clash}' would collide with the optimiser's tensors (named '${OPTIMIZER_PREFIX}…')`,
      );
    const opt = options.optimizer;
    const saved: OptimizerState = isStateful(opt) ? opt.stateDict() : opt;
    for (const [name, t] of Object.entries(saved.tensors)) tensors[OPTIMIZER_PREFIX + name] = t;
    metadata[OPTIMIZER_KEY] = JSON.stringify({ type: saved.type, hyper: saved.hyper });
  }
  if (options.scheduler) {
    const s = options.scheduler;
    metadata[SCHEDULER_KEY] = JSON.stringify(isStateful(s) ? s.stateDict() : s);
  }
  const rngs = generators(model);
  if (rngs.size > 0) {
    metadata[RNG_KEY] = JSON.stringify(
      Object.fromEntries([...rngs].map(([path, rng]) => [path, rng.state()])),
    );
  }
  return toSafetensors(tensors, metadata);
}

/** Every generator held by a module of `model` (a dropout's `rng`), by path. */
function generators(model: Module): Map<string, Rng> {
  const found = new Map<string, Rng>();
  for (const [path, m] of model.namedModules()) {
    for (const [key, value] of Object.entries(m)) {
      if (value instanceof Rng) found.set(path ? `${path}.${key}` : key, value);
    }
  }
  return found;
}

function isStateful<S>(x: unknown): x is Stateful<S> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Stateful<S>).stateDict === 'function' &&
    typeof (x as Stateful<S>).loadStateDict === 'function'
  );
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

function jsonObject(
  text: string | undefined,
  key: string,
  name: string,
): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  const v = parseJson(text, key, name);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new CheckpointError(`${name}: metadata '${key}' is not a JSON object`);
  return v as Record<string, unknown>;
}

/**
 * Restores a checkpoint. Without `into`, it rebuilds the model its spec
 * describes and loads the parameters and buffers (strictly). With
 * `{ into: model }` it loads into a model you constructed, any `Module`,
 * and with `optimizer` / `scheduler` restores those too.
 *
 * Everything is checked before anything changes: every missing, unexpected
 * or mis-shaped tensor of the model is named in one `CheckpointError`, as
 * is a missing or different optimiser or schedule state; if any part is
 * refused, the model, optimiser and schedule keep their state.
 *
 * @example
 * const { model, meta } = restoreCheckpoint(bytes); // a spec-built model
 * const net = new MyNet();
 * const opt = new Adam(net.parameters());
 * restoreCheckpoint(bytes, { into: net, optimizer: opt }); // continues bit for bit
 */
export function restoreCheckpoint(bytes: Uint8Array, name?: string): SpecCheckpoint;
export function restoreCheckpoint<M extends Module>(
  bytes: Uint8Array,
  options: RestoreOptions<M> & { into: M },
): Checkpoint<M>;
export function restoreCheckpoint(
  bytes: Uint8Array,
  options: RestoreOptions & { into?: undefined },
): SpecCheckpoint;
export function restoreCheckpoint(
  bytes: Uint8Array,
  nameOrOptions: string | RestoreOptions = {},
): Checkpoint {
  const options: RestoreOptions =
    typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
  const name = options.name ?? 'checkpoint';
  const { tensors, metadata } = fromSafetensors(bytes, name);

  let spec: ModelSpec | undefined;
  const specText = metadata[SPEC_KEY];
  if (specText !== undefined) {
    try {
      spec = parseSpec(parseJson(specText, SPEC_KEY, name));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw new CheckpointError(`${name}: the stored spec is invalid: ${(e as Error).message}`);
    }
  }
  const meta = jsonObject(metadata[META_KEY] ?? '{}', META_KEY, name)!;
  let optimizer: OptimizerState | undefined;
  const optimizerInfo = jsonObject(metadata[OPTIMIZER_KEY], OPTIMIZER_KEY, name) as
    | Partial<OptimizerState>
    | undefined;
  const state: Record<string, Tensor> = {};
  const optimizerTensors: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(tensors)) {
    if (optimizerInfo && key.startsWith(OPTIMIZER_PREFIX))
      optimizerTensors[key.slice(OPTIMIZER_PREFIX.length)] = t;
    else state[key] = t;
  }
  if (optimizerInfo) {
    if (
      typeof optimizerInfo.type !== 'string' ||
      typeof optimizerInfo.hyper !== 'object' ||
      !optimizerInfo.hyper
    )
      throw new CheckpointError(
        `${name}: metadata '${OPTIMIZER_KEY}' lacks a type and hyperparameters`,
      );
    optimizer = { type: optimizerInfo.type, hyper: optimizerInfo.hyper, tensors: optimizerTensors };
  }
  const scheduler = jsonObject(metadata[SCHEDULER_KEY], SCHEDULER_KEY, name);

  let model: Module;
  if (options.into) model = options.into;
  else {
    if (!spec) {
      throw new CheckpointError(
        `${name}: no '${SPEC_KEY}' in the metadata, so the model cannot be rebuilt: construct it and pass { into: model }`,
      );
    }
    // The spec comes from the file: weigh it against the values the file
    // holds before building, so a few bytes cannot ask for gigabytes.
    const needed = modelValues(inferShapes(spec));
    const held = Object.values(state).reduce((n, t) => n + t.size, 0);
    if (!(needed <= held)) {
      throw new CheckpointError(
        `${name}: the stored spec needs ${needed} parameter and buffer values, but the file holds ${held}; refused before building the model`,
      );
    }
    const dtype = Object.values(state).some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
    model = buildModel(spec, { dtype, maxValues: Math.max(held, DEFAULT_MAX_VALUES) });
  }
  if (model instanceof Sequential) {
    // Checkpoints of @neurite/nn 0.1 named a spec's layers `layers.0.weight`; now `0.weight`, as PyTorch.
    for (const key of Object.keys(state)) {
      const renamed = key.replace(/^layers\.(?=\d)/, '');
      if (renamed !== key && !(renamed in state)) {
        state[renamed] = state[key]!;
        delete state[key];
      }
    }
  }

  // Check everything first.
  const problems = model.checkStateDict(state, true).problems.map((p) => `model: ${p}`);
  const rngStates = jsonObject(metadata[RNG_KEY], RNG_KEY, name);
  const rngs = generators(model);
  if (rngStates) {
    for (const [path, value] of Object.entries(rngStates)) {
      if (!rngs.has(path))
        problems.push(`rng: the checkpoint has generator '${path}', the model does not`);
      else if (!Array.isArray(value) || value.length !== 4 || !value.every(Number.isInteger))
        problems.push(`rng: the state of '${path}' is not four 32-bit integers`);
    }
    for (const path of rngs.keys()) {
      if (!(path in rngStates))
        problems.push(`rng: the model's generator '${path}' has no state in the checkpoint`);
    }
  }
  if (options.optimizer) {
    if (!optimizer) problems.push('optimizer: the checkpoint holds no optimiser state');
    else {
      const own = options.optimizer.stateDict();
      if (own.type !== optimizer.type)
        problems.push(
          `optimizer: the checkpoint holds a ${optimizer.type} state, the optimiser is a ${own.type}`,
        );
    }
  }
  if (options.scheduler) {
    if (!scheduler) problems.push('scheduler: the checkpoint holds no schedule state');
    else {
      const own = options.scheduler.stateDict() as { type?: unknown };
      if (own && typeof own === 'object' && own.type !== scheduler.type)
        problems.push(
          `scheduler: the checkpoint holds a ${String(scheduler.type)} state, the schedule is a ${String(own.type)}`,
        );
    }
  }
  if (problems.length > 0) {
    throw new CheckpointError(
      `${name}: does not fit (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`,
    );
  }

  // Then change state: the optimiser and the schedule refuse a bad state
  // without changing; if the schedule refuses, the optimiser is put back.
  const optimizerBefore = options.optimizer?.stateDict();
  try {
    if (options.optimizer) options.optimizer.loadStateDict(optimizer!);
    if (options.scheduler) options.scheduler.loadStateDict(scheduler);
  } catch (e) {
    if (options.optimizer && optimizerBefore) options.optimizer.loadStateDict(optimizerBefore);
    if (e instanceof NeuriteError) throw new CheckpointError(`${name}: ${e.message}`);
    throw e;
  }
  model.loadStateDict(state, { strict: true });
  if (rngStates) for (const [path, rng] of rngs) rng.setState(rngStates[path] as number[]);
  return { model, spec, meta, optimizer, scheduler, metadata };
}
