/**
 * @neurite/data: datasets, seeded batching and image transforms for
 * @neurite/tensor, the IDX reader and MNIST (embedded or from IDX bytes).
 * Browser-safe: file-system and network loading live in `@neurite/data/node`.
 *
 * @example
 * import { DataLoader, loadEmbeddedMnist } from '@neurite/data';
 * const mnist = await loadEmbeddedMnist();
 * for (const [images, labels] of new DataLoader(mnist.train, { batchSize: 64, shuffle: true })) {
 *   // images: [64, 784] float32 in [0, 1], labels: [64] int32
 * }
 */
export {
  type Dataset,
  type GatherDataset,
  isGatherDataset,
  randomSplit,
  type SampleField,
  Subset,
  TensorDataset,
} from './dataset.js';
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
export {
  type Batch,
  type BatchOptions,
  type BatchSource,
  batches,
  DataLoader,
  type DataLoaderOptions,
  epochSeed,
  type ImageLayout,
} from './loader.js';
export { type Mnist, type MnistIdxFiles, MnistSplit, mnistFromIdx } from './mnist.js';
export {
  compose,
  type FloatArray,
  type ImageBatchShape,
  type ImageTransform,
  normalize,
  randomCrop,
  randomHorizontalFlip,
  randomShift,
  randomVerticalFlip,
} from './transforms.js';
