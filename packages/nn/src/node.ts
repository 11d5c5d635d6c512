/// <reference types="node" />
import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '@neurite/tensor';
import {
  type Checkpoint,
  type CheckpointOptions,
  checkpointBytes,
  type RestoreOptions,
  restoreCheckpoint,
  type SpecCheckpoint,
} from './checkpoint.js';
import type { Module } from './module.js';
import { fromSafetensors, type SafetensorsContents, toSafetensors } from './safetensors.js';

/**
 * @neurite/nn/node: checkpoints on the file system. The main entry stays
 * free of Node-only imports so that it runs in a browser.
 */

/** Options of the atomic writers. */
export interface AtomicWriteOptions {
  /**
   * Runs after the temporary file is written and flushed, just before it
   * replaces the target: a place for tests to simulate a crash.
   */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * Writes `bytes` to `path` atomically: to `path.tmp-<pid>-<random>` first,
 * flushed to disk, then renamed over `path`. A crash at any moment leaves
 * either the old file or the new one, whole; on an error the temporary file
 * is removed.
 *
 * @example
 * await writeFileAtomic('model.safetensors', bytes);
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  { beforeRename }: AtomicWriteOptions = {},
): Promise<void> {
  await removeOrphanedTemps(path);
  const temp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await beforeRename?.(temp);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
  // Flush the directory entry too, so the rename survives a power cut.
  // Some platforms cannot open a directory; the file itself is safe anyway.
  try {
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // best effort
  }
}

/**
 * Removes what saves to `path` killed mid-write left behind: temporary files
 * `path.tmp-<pid>-<hex>` whose process no longer runs. A live process's file
 * is left alone: it may be saving to the same path right now.
 */
async function removeOrphanedTemps(path: string): Promise<void> {
  const prefix = `${basename(path)}.tmp-`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return; // the folder's own error comes from the write itself
  }
  for (const name of names) {
    const match = name.startsWith(prefix) && /^(\d+)-[0-9a-f]{12}$/.exec(name.slice(prefix.length));
    if (match && !isRunning(Number(match[1]))) {
      await rm(join(dirname(path), name), { force: true });
    }
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it runs, as another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Saves any `model` as a safetensors checkpoint, atomically: parameters and
 * buffers, and the spec, `meta`, optimiser and schedule states given (the
 * spec defaults to the model's own, for a model built from one).
 *
 * @example
 * await saveCheckpoint('mnist.safetensors', model, { meta: { epoch: 5 }, optimizer: opt });
 */
export async function saveCheckpoint(
  path: string,
  model: Module,
  options: CheckpointOptions & AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, checkpointBytes(model, options), options);
}

/**
 * Loads a checkpoint from a file (or bytes). Without options it rebuilds the
 * model from the stored spec; with `{ into: model, optimizer?, scheduler? }`
 * it loads into a model you constructed, strictly, naming every missing,
 * unexpected or mis-shaped tensor, and changes nothing unless everything
 * fits. A truncated or corrupt file is refused with its path and the problem.
 *
 * @example
 * const { model, meta } = await loadCheckpoint('mnist.safetensors');
 * await loadCheckpoint('run.safetensors', { into: net, optimizer: opt, scheduler: schedule });
 */
export async function loadCheckpoint(path: string | Uint8Array): Promise<SpecCheckpoint>;
export async function loadCheckpoint<M extends Module>(
  path: string | Uint8Array,
  options: RestoreOptions<M> & { into: M },
): Promise<Checkpoint<M>>;
export async function loadCheckpoint(
  path: string | Uint8Array,
  options: RestoreOptions = {},
): Promise<Checkpoint> {
  const bytes = typeof path === 'string' ? new Uint8Array(await readFile(path)) : path;
  const name = options.name ?? (typeof path === 'string' ? path : 'checkpoint');
  return options.into
    ? restoreCheckpoint(bytes, { ...options, into: options.into, name })
    : restoreCheckpoint(bytes, { ...options, into: undefined, name });
}

/**
 * Writes named tensors as a plain safetensors file, atomically.
 *
 * @example
 * await saveSafetensors('weights.safetensors', model.stateDict());
 */
export async function saveSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(path, toSafetensors(tensors, metadata), options);
}

/**
 * Reads any safetensors file of F32, F64 and I32 tensors.
 *
 * @example
 * const { tensors, metadata } = await loadSafetensors('weights.safetensors');
 */
export async function loadSafetensors(path: string): Promise<SafetensorsContents> {
  return fromSafetensors(new Uint8Array(await readFile(path)), path);
}
