/**
 * @neurite/data/node: file-system and network loading for Node. Everything
 * of the browser-safe `@neurite/data` is re-exported here too.
 *
 * @example
 * import { DataLoader, loadMnist } from '@neurite/data/node';
 * const mnist = await loadMnist('data/mnist'); // or loadMnist() for the embedded 10,000
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadEmbeddedMnist } from './embedded.js';
import { DataError } from './errors.js';
import { type IdxData, parseIdx } from './idx.js';
import { type Mnist, type MnistIdxFiles, mnistFromIdx } from './mnist.js';

export {
  type DownloadedFile,
  type DownloadOptions,
  type DownloadProgress,
  downloadMnist,
  MNIST_FILES,
  MNIST_MIRRORS,
  MNIST_SHA256,
} from './download.js';
export * from './index.js';

/**
 * Reads and parses one IDX file, gzipped or not; errors name `path`.
 *
 * @example
 * const { dims, data } = await readIdxFile('mnist/t10k-labels-idx1-ubyte.gz');
 */
export async function readIdxFile(path: string): Promise<IdxData> {
  return parseIdx(await readBytes(path), path);
}

/** A file's bytes; a path that is no readable file is a `DataError` naming it. */
async function readBytes(path: string): Promise<Uint8Array> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (e) {
    const { code, message } = e as NodeJS.ErrnoException;
    const why =
      code === 'EISDIR' ? 'is a folder, not a file' : code === 'ENOENT' ? 'no such file' : message;
    throw new DataError(`${path}: ${why}`);
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

// The names MNIST and Fashion-MNIST publish, and the dotted variant some
// archives unpack to; each may also be gzipped.
const FILE_NAMES: Record<keyof MnistIdxFiles, readonly string[]> = {
  trainImages: ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'],
  trainLabels: ['train-labels-idx1-ubyte', 'train-labels.idx1-ubyte'],
  testImages: ['t10k-images-idx3-ubyte', 't10k-images.idx3-ubyte'],
  testLabels: ['t10k-labels-idx1-ubyte', 't10k-labels.idx1-ubyte'],
};

const ROLE_NAMES: Record<keyof MnistIdxFiles, string> = {
  trainImages: 'training images',
  trainLabels: 'training labels',
  testImages: 'test images',
  testLabels: 'test labels',
};

/** The file names `loadMnistDir` looks for, per role, in the order it prefers them. */
export function mnistFileCandidates(role: keyof MnistIdxFiles): string[] {
  // Uncompressed first: it loads without inflating.
  return FILE_NAMES[role].flatMap((base) => [base, `${base}.gz`]);
}

/**
 * A dataset in MNIST's IDX layout from a folder holding its four files
 * (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
 * `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each optionally
 * `.gz`): the full MNIST (60,000 + 10,000), Fashion-MNIST, or any other
 * data saved that way. A missing file is named with every name looked for.
 *
 * @example
 * const { train, test } = await loadMnistDir('data/fashion-mnist');
 */
export async function loadMnistDir(dir: string): Promise<Mnist> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (e) {
    throw new DataError(`loadMnistDir: cannot read the folder ${dir}: ${(e as Error).message}`);
  }
  entries.sort();
  const present = new Set(entries);
  const roles = Object.keys(FILE_NAMES) as (keyof MnistIdxFiles)[];
  const paths = {} as Record<keyof MnistIdxFiles, string>;
  for (const role of roles) {
    const candidates = mnistFileCandidates(role);
    const found = candidates.find((name) => present.has(name));
    if (found === undefined) {
      const listing = entries.length ? entries.slice(0, 20).join(', ') : 'nothing';
      throw new DataError(
        `loadMnistDir: no ${ROLE_NAMES[role]} file in ${dir}: looked for ${candidates.join(', ')} ` +
          `(the folder holds ${listing}${entries.length > 20 ? ', …' : ''})`,
      );
    }
    paths[role] = join(dir, found);
  }
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    roles.map((role) => readBytes(paths[role])),
  );
  return mnistFromIdx(
    {
      trainImages: trainImages!,
      trainLabels: trainLabels!,
      testImages: testImages!,
      testLabels: testLabels!,
    },
    paths,
  );
}

/**
 * MNIST from `source`: `'embedded'` (the default) for the 10,000 digits
 * inside the `mnist` package, split 8,000/2,000 (see `loadEmbeddedMnist`),
 * or a folder of the four IDX files (see `loadMnistDir`).
 *
 * @example
 * const small = await loadMnist();
 * const full = await loadMnist('data/mnist');
 */
export function loadMnist(source: 'embedded' | (string & {}) = 'embedded'): Promise<Mnist> {
  return source === 'embedded' ? loadEmbeddedMnist() : loadMnistDir(source);
}
