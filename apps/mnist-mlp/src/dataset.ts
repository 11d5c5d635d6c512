import { stat } from 'node:fs/promises';
import { loadMnist } from '@neurite/data/node';
import type { ModelSpec } from '@neurite/nn';
import { InputError } from './core/errors.js';
import { architecture, inputSize, outputSize } from './core/spec-info.js';
import type { ImageSet } from './core/split.js';

/** A dataset in MNIST's layout and where it came from. */
export interface Dataset {
  readonly train: ImageSet;
  readonly test: ImageSet;
  /** `embedded`, or the folder as given. */
  readonly source: string;
}

/**
 * Loads `embedded` (the 10,000 digits shipped with @neurite/data, split
 * 8,000/2,000) or a folder of the four MNIST IDX files. Anything wrong with
 * the folder or its files is the user's input: an `InputError` naming it.
 */
export async function loadDataset(source: string): Promise<Dataset> {
  if (source !== 'embedded') {
    const info = await stat(source).catch(() => null);
    if (!info)
      throw new InputError(
        `--data ${source}: no such folder (give 'embedded' or a folder of MNIST IDX files; 'mnist-mlp download --to ${source}' fetches them)`,
      );
    if (!info.isDirectory()) throw new InputError(`--data ${source}: not a folder`);
  }
  try {
    const { train, test } = await loadMnist(source);
    return { train, test, source };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'DataError' || name === 'IdxError') {
      throw new InputError(`--data ${source}: ${(error as Error).message}`);
    }
    throw error;
  }
}

/**
 * The data for a checkpoint: `--data` if given, else the data it was
 * trained on (as recorded, relative paths from where training ran), else
 * the embedded digits. The recorded folder comes from the file, not the
 * user, so it is only a hint: when it does not hold MNIST's files, nothing
 * about it (what else it holds, say) is reported beyond its name.
 */
export async function datasetForCheckpoint(
  given: string | undefined,
  recorded: string | undefined,
): Promise<Dataset> {
  if (given !== undefined) return loadDataset(given);
  if (recorded === undefined || recorded === 'embedded') return loadDataset('embedded');
  try {
    return await loadDataset(recorded);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    throw new InputError(
      `the checkpoint was trained on --data ${recorded}, which does not hold MNIST's IDX files from here: pass --data`,
    );
  }
}

/**
 * Refuses data the network cannot take: images whose pixel count is not the
 * spec's input size, or labels beyond its outputs.
 */
export function checkFits(
  spec: ModelSpec,
  data: { train?: ImageSet; test: ImageSet },
  source: string,
): void {
  const pixels = data.test.rows * data.test.cols;
  if (pixels !== inputSize(spec)) {
    throw new InputError(
      `--data ${source}: images are ${data.test.rows}×${data.test.cols} = ${pixels} pixels, but the network ${architecture(spec)} takes ${inputSize(spec)} inputs (see src/model.ts)`,
    );
  }
  const classes = outputSize(spec);
  for (const [name, set] of [
    ['training', data.train],
    ['test', data.test],
  ] as const) {
    if (!set) continue;
    const labels = set.labels.data;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]! >= classes) {
        throw new InputError(
          `--data ${source}: ${name} label ${i} is ${labels[i]}, but the network has only ${classes} outputs (classes 0-${classes - 1})`,
        );
      }
    }
  }
}
