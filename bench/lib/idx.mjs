// Reads and writes the four MNIST IDX files (gzipped or raw). The bench keeps
// its own small reader so every implementation parses the same bytes the same
// way; Python's twin is in impl/torch.py.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** The path of `name` in `dir`, gzipped or raw, or undefined when neither exists. */
export function findIdx(dir, name) {
  for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Whether `dir` holds all four MNIST files. */
export function hasMnist(dir) {
  return Object.values(MNIST_FILES).every((name) => findIdx(dir, name) !== undefined);
}

/** Parses one IDX file of unsigned bytes: `{ dims, data }`, with header and length checks. */
export function readIdx(path) {
  let bytes = readFileSync(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${path}: byte 0: not an IDX file (magic must start with two zero bytes)`);
  }
  if (bytes[2] !== 0x08) {
    throw new Error(
      `${path}: byte 2: element type 0x${bytes[2].toString(16)}, expected 0x08 (ubyte)`,
    );
  }
  const ndim = bytes[3];
  const header = 4 + 4 * ndim;
  if (bytes.length < header) {
    throw new Error(`${path}: header needs ${header} bytes, file has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== count) {
    throw new Error(
      `${path}: byte ${header}: dims [${dims.join(', ')}] need ${count} data bytes, found ${bytes.length - header}`,
    );
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + header, count) };
}

/** Writes `data` with `dims` as a gzipped IDX ubyte file. */
export function writeIdx(path, dims, data) {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => {
    header.writeUInt32BE(d, 4 + 4 * i);
  });
  writeFileSync(path, gzipSync(Buffer.concat([header, Buffer.from(data)]), { level: 1 }));
}

/** The four MNIST arrays from `dir`: images as uint8 rows of 784, labels as uint8. */
export function readMnistDir(dir) {
  const load = (key) => {
    const path = findIdx(dir, MNIST_FILES[key]);
    if (!path) throw new Error(`${dir}: missing ${MNIST_FILES[key]}(.gz)`);
    return readIdx(path);
  };
  const trainImages = load('trainImages');
  const trainLabels = load('trainLabels');
  const testImages = load('testImages');
  const testLabels = load('testLabels');
  for (const [images, labels, what] of [
    [trainImages, trainLabels, 'train'],
    [testImages, testLabels, 'test'],
  ]) {
    if (images.dims.length !== 3 || images.dims[1] * images.dims[2] !== 784) {
      throw new Error(
        `${dir}: ${what} images have dims [${images.dims.join(', ')}], expected [N, 28, 28]`,
      );
    }
    if (labels.dims[0] !== images.dims[0]) {
      throw new Error(`${dir}: ${images.dims[0]} ${what} images but ${labels.dims[0]} labels`);
    }
  }
  return {
    trainImages: trainImages.data,
    trainLabels: trainLabels.data,
    testImages: testImages.data,
    testLabels: testLabels.data,
  };
}
