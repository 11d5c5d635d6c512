import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DataError,
  encodeIdx,
  IdxError,
  loadMnist,
  loadMnistDir,
  mnistFileCandidates,
  readIdxFile,
} from '../src/node.js';
import { makeIdxFiles, rejection } from './support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'neurite-data-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeDataset(
  files: ReturnType<typeof makeIdxFiles>,
  names: [string, string, string, string],
): Promise<void> {
  const bytes = [files.trainImages, files.trainLabels, files.testImages, files.testLabels];
  await Promise.all(names.map((name, i) => writeFile(join(dir, name), bytes[i]!)));
}

describe('readIdxFile', () => {
  it('reads a file, and errors name its path', async () => {
    const path = join(dir, 'values.idx.gz');
    await writeFile(
      path,
      encodeIdx({ dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }, { gzip: true }),
    );
    const idx = await readIdxFile(path);
    expect(idx.type).toBe('float32');
    expect(Array.from(idx.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    const bad = join(dir, 'bad.idx');
    await writeFile(bad, Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2]));
    await expect(readIdxFile(bad)).rejects.toThrow(
      `${bad}: header dims [5] of uint8 need 5 data bytes after the 8-byte header (13 in all), but the file has 2`,
    );
    await expect(readIdxFile(bad)).rejects.toBeInstanceOf(IdxError);
  });

  it('names a path that is a folder or missing, with a DataError', async () => {
    await expect(readIdxFile(dir)).rejects.toThrow(`${dir}: is a folder, not a file`);
    await expect(readIdxFile(dir)).rejects.toBeInstanceOf(DataError);
    await expect(readIdxFile(join(dir, 'absent.idx'))).rejects.toThrow(/absent\.idx: no such file/);
  });
});

describe('loadMnistDir', () => {
  it('reads the four gzipped files under their standard names', async () => {
    const files = makeIdxFiles(20, 7, { gzip: true });
    await writeDataset(files, [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ]);
    const { train, test } = await loadMnistDir(dir);
    expect([train.count, test.count]).toEqual([20, 7]);
    expect(Array.from(train.pixels)).toEqual(Array.from(files.trainPixels));
    expect(Array.from(test.labels.data)).toEqual(Array.from(files.testClasses));
  });

  it('reads uncompressed files and the dotted names some archives unpack to', async () => {
    const files = makeIdxFiles(5, 4, { gzip: false });
    await writeDataset(files, [
      'train-images.idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      't10k-labels.idx1-ubyte',
    ]);
    const { train, test } = await loadMnist(dir);
    expect(Array.from(test.pixels)).toEqual(Array.from(files.testPixels));
    expect(Array.from(train.labels.data)).toEqual(Array.from(files.trainClasses));
  });

  it('names the missing file, every name looked for, and what the folder holds', async () => {
    const files = makeIdxFiles(3, 3);
    await writeDataset(files, [
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
      't10k-images-idx3-ubyte',
      'readme.txt',
    ]);
    const error = await rejection(loadMnistDir(dir));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe(
      `loadMnistDir: no test labels file in ${dir}: looked for ${mnistFileCandidates('testLabels').join(', ')} ` +
        `(the folder holds ${['readme.txt', 't10k-images-idx3-ubyte', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte'].join(', ')})`,
    );
    expect(error.message).toContain('t10k-labels-idx1-ubyte.gz');
    await expect(loadMnistDir(join(dir, 'nope'))).rejects.toThrow(
      /^loadMnistDir: cannot read the folder .*nope/,
    );
  });

  it('errors from a bad file name that file', async () => {
    const files = makeIdxFiles(3, 3, { gzip: true });
    await writeDataset({ ...files, testImages: files.testImages.subarray(0, 100) }, [
      'train-images-idx3-ubyte.gz',
      'train-labels-idx1-ubyte.gz',
      't10k-images-idx3-ubyte.gz',
      't10k-labels-idx1-ubyte.gz',
    ]);
    await expect(loadMnistDir(dir)).rejects.toThrow(
      `${join(dir, 't10k-images-idx3-ubyte.gz')}: truncated gzip data`,
    );
  });
});

describe('loadMnist', () => {
  it('defaults to the embedded digits', async () => {
    const mnist = await loadMnist();
    expect([mnist.train.count, mnist.test.count]).toEqual([8000, 2000]);
  }, 30_000);
});
