/**
 * @neurite/data: the IDX reader, MNIST (embedded or from IDX bytes) and
 * seeded batching for @neurite/tensor. Browser-safe: file-system and
 * network loading live in `@neurite/data/node`.
 *
 * @example
 * import { DataLoader, loadEmbeddedMnist } from '@neurite/data';
 * const mnist = await loadEmbeddedMnist();
 * for (const { images, labels } of new DataLoader(mnist.train, { batchSize: 64, shuffle: true })) {
 *   // images: [64, 784] float32 in [0, 1], labels: [64] int32
 * }
 */
export {
  type Batch,
  type BatchOptions,
  type BatchSource,
  batches,
  DataLoader,
  epochSeed,
} from './batches.js';
export { loadEmbeddedMnist } from './embedded.js';
export { DataError, IdxError } from './errors.js';
export { gunzip, isGzip } from './gzip.js';
export {
  encodeIdx,
  type IdxArrayOf,
  type IdxData,
  type IdxInput,
  type IdxType,
  parseIdx,
} from './idx.js';
export { type Mnist, type MnistIdxFiles, MnistSplit, mnistFromIdx } from './mnist.js';
