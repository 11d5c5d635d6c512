import { Rng, type Tensor, tensor } from '@neurite/tensor';
import { DataError } from './errors.js';
import { pixelScale } from './mnist.js';

/** What batches are drawn from: images as bytes plus int32 labels, such as a `MnistSplit`. */
export interface BatchSource {
  /** `count` images back to back, one byte per pixel (0-255). */
  readonly pixels: Uint8Array;
  /** A 1-D int32 tensor of `count` labels. */
  readonly labels: Tensor;
  readonly count: number;
}

/** Options of `DataLoader` and `batches`. */
export interface BatchOptions {
  /** Samples per batch (the last one may be smaller unless `dropLast`). */
  batchSize: number;
  /** Visit samples in a seeded random order, a new one each epoch. Default false. */
  shuffle?: boolean;
  /** Seed of the shuffled orders. Default 0. */
  seed?: number;
  /** Skip the last batch when it would be smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /**
   * Reuse one set of buffers for every batch (default true): a batch's
   * tensors are overwritten by the next batch, so copy what you keep.
   * `false` gives every batch fresh arrays.
   */
  reuse?: boolean;
}

/** One batch: B images as a float32 tensor [B, pixels] in [0, 1], their int32 labels [B], and their sample indices. */
export interface Batch {
  images: Tensor;
  labels: Tensor;
  indices: Int32Array;
}

/**
 * The seed of epoch `epoch`'s order: a 32-bit mix of `seed` and `epoch`,
 * so each epoch's order depends on nothing but the two (not on which
 * epochs ran before), and different epochs of a seed never share a stream.
 */
export function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x5bd1e995, 0x9e3779b1);
  h ^= epoch >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Mini-batches over a dataset, epoch after epoch. With `shuffle`, the order
 * of epoch e is a Fisher-Yates shuffle of 0 … count−1 by
 * `new Rng(epochSeed(seed, e))`: the same seed gives the same orders on
 * every run and platform. Nothing is copied per epoch but an index array;
 * each batch scales its images' bytes (pixel/255) into a float32 buffer
 * of batchSize × pixels, reused from batch to batch (see `reuse`).
 *
 * Iterating the loader itself (`for … of loader`) runs epochs 0, 1, 2 …
 * in turn; `epoch(e)` runs a given one.
 *
 * @example
 * const loader = new DataLoader(mnist.train, { batchSize: 64, shuffle: true, seed: 1 });
 * for (let e = 0; e < 3; e++) {
 *   for (const { images, labels } of loader.epoch(e)) {
 *     // images: [64, 784] float32, labels: [64] int32
 *   }
 * }
 */
export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly reuse: boolean;
  /** Pixels per sample. */
  readonly features: number;
  /** Batches per epoch. */
  readonly length: number;
  private readonly source: BatchSource;
  private nextEpoch = 0;
  private imageBuffer: Float32Array | undefined;
  private labelBuffer: Int32Array | undefined;
  private orderBuffer: Int32Array | undefined;

  constructor(source: BatchSource, options: BatchOptions) {
    const { batchSize, shuffle = false, seed = 0, dropLast = false, reuse = true } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new DataError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(seed)) {
      throw new DataError(`DataLoader: seed must be an integer, got ${seed}`);
    }
    const { pixels, labels, count } = source;
    if (labels.dtype !== 'int32' || labels.ndim !== 1 || labels.shape[0] !== count) {
      throw new DataError(
        `DataLoader: labels must be int32 of shape [${count}], got ${labels.dtype} [${labels.shape.join(', ')}]`,
      );
    }
    if (count > 0 && pixels.length % count !== 0) {
      throw new DataError(
        `DataLoader: ${pixels.length} pixels do not split into ${count} equal images`,
      );
    }
    this.source = source;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.reuse = reuse;
    this.features = count > 0 ? pixels.length / count : 0;
    this.length = dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** Samples per epoch (all of them, or fewer with `dropLast`). */
  get samples(): number {
    return this.dropLast ? this.length * this.batchSize : this.source.count;
  }

  /** The sample indices in the order epoch `epoch` visits them (a fresh array). */
  order(epoch: number): Int32Array {
    return this.fillOrder(new Int32Array(this.source.count), epoch);
  }

  private fillOrder(order: Int32Array, epoch: number): Int32Array {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new DataError(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
    }
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (this.shuffle) new Rng(epochSeed(this.seed, epoch)).shuffle(order);
    return order;
  }

  /** The batches of epoch `epoch`, in that epoch's order. */
  epoch(epoch: number): Generator<Batch, void, undefined> {
    if (!Number.isInteger(epoch) || epoch < 0) {
      throw new DataError(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
    }
    return this.run(epoch);
  }

  private *run(epoch: number): Generator<Batch, void, undefined> {
    const { count, pixels } = this.source;
    const labels = this.source.labels.data;
    if (this.reuse) this.orderBuffer ??= new Int32Array(count);
    const order = this.orderBuffer ? this.fillOrder(this.orderBuffer, epoch) : this.order(epoch);
    const f = this.features;
    const scale = pixelScale();
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize;
      const size = Math.min(this.batchSize, count - start);
      let images: Float32Array;
      let targets: Int32Array;
      if (this.reuse) {
        this.imageBuffer ??= new Float32Array(this.batchSize * f);
        this.labelBuffer ??= new Int32Array(this.batchSize);
        images = this.imageBuffer.subarray(0, size * f);
        targets = this.labelBuffer.subarray(0, size);
      } else {
        images = new Float32Array(size * f);
        targets = new Int32Array(size);
      }
      const indices = this.reuse
        ? order.subarray(start, start + size)
        : order.slice(start, start + size);
      for (let j = 0; j < size; j++) {
        const sample = indices[j]!;
        targets[j] = labels[sample]!;
        const from = sample * f;
        const to = j * f;
        for (let k = 0; k < f; k++) images[to + k] = scale[pixels[from + k]!]!;
      }
      yield {
        images: tensor(images, { shape: [size, f] }),
        labels: tensor(targets, { shape: [size], dtype: 'int32' }),
        indices,
      };
    }
  }

  /** Runs the next epoch: 0 on the first iteration, then 1, 2 … */
  [Symbol.iterator](): Iterator<Batch> {
    return this.epoch(this.nextEpoch++);
  }
}

/**
 * The batches of one epoch (`epoch`, default 0) of `source`: shorthand for
 * `new DataLoader(source, options).epoch(epoch)`.
 *
 * @example
 * for (const { images, labels } of batches(mnist.test, { batchSize: 1000 })) {
 *   // evaluate on images [1000, 784]
 * }
 */
export function batches(
  source: BatchSource,
  options: BatchOptions & { epoch?: number },
): Generator<Batch, void, undefined> {
  return new DataLoader(source, options).epoch(options.epoch ?? 0);
}
