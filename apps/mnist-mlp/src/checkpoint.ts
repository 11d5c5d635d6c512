import { readFile, stat } from 'node:fs/promises';
import { type ModelSpec, restoreCheckpoint, type Sequential } from '@neurite/nn';
import { saveCheckpoint } from '@neurite/nn/node';
import { InputError } from './core/errors.js';
import { readMeta, type TrainingMeta } from './core/meta.js';

/** A checkpoint as the app uses it. */
export interface LoadedModel {
  readonly model: Sequential;
  readonly spec: ModelSpec;
  /** The run that made it, if this app made it. */
  readonly meta: TrainingMeta | null;
}

/**
 * Reads a checkpoint; a missing, truncated or foreign file is the user's
 * input, reported as an `InputError` naming the file.
 */
export async function readCheckpoint(path: string): Promise<LoadedModel> {
  const info = await stat(path).catch(() => null);
  if (!info)
    throw new InputError(
      `--model ${path}: no such file (train one with 'mnist-mlp train --out ${path}')`,
    );
  if (!info.isFile()) throw new InputError(`--model ${path}: not a file`);
  const bytes = new Uint8Array(await readFile(path));
  try {
    const { model, spec, meta } = restoreCheckpoint(bytes, path);
    model.eval();
    return { model, spec, meta: readMeta(meta) };
  } catch (error) {
    const name = (error as Error).name;
    if (['CheckpointError', 'SpecError', 'StateDictError'].includes(name)) {
      const message = (error as Error).message;
      // nn's messages start with the file name already.
      throw new InputError(`--model ${message.startsWith(path) ? message : `${path}: ${message}`}`);
    }
    throw error;
  }
}

/** Writes the checkpoint atomically: a crash or Ctrl-C never leaves half a file. */
export async function writeCheckpoint(
  path: string,
  model: Sequential,
  spec: ModelSpec,
  meta: TrainingMeta,
): Promise<void> {
  try {
    await saveCheckpoint(path, model, { spec, meta: { ...meta } });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') {
      throw new InputError(
        `--out ${path}: cannot write the checkpoint: ${(error as Error).message}`,
      );
    }
    throw error;
  }
}
