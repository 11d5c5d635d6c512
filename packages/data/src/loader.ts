import { allocate, Rng, Tensor, type TypedArray } from '@neurite/tensor';
import { type Dataset, type GatherDataset, isGatherDataset, type SampleField } from './dataset.js';
import { DataError } from './errors.js';
import { MnistSplit } from './mnist.js';
import type { FloatArray, ImageBatchShape, ImageTransform } from './transforms.js';

/**
 * A batch of the default collation: one tensor per field of the samples
 * (`[images, labels]`, `[features, targets]` …), each with the batch as
 * its first axis, and the dataset indices of its samples in order.
 */
export type Batch = Tensor[] & { readonly indices: Int32Array };

/** How `DataLoader` lays out image samples: [B, rows·cols] (`flat`, the default) or [B, channels, rows, cols] (`nchw`, for convolutions). */
export type ImageLayout = 'flat' | 'nchw';

/** Options of `DataLoader` and `batches`. */
export interface DataLoaderOptions<B = Batch> {
  /** Samples per batch (the last one may be smaller unless `dropLast`). */
  batchSize: number;
  /** Visit samples in a seeded random order, a new one each epoch. Default false. */
  shuffle?: boolean;
  /** Seed of the shuffled orders and of the transforms' draws. Default 0. */
  seed?: number;
  /** Skip the last batch when it would be smaller than `batchSize`. Default false. */
  dropLast?: boolean;
  /**
   * Reuse one set of buffers for every batch (default true): a batch's
   * tensors are overwritten by the next batch, so copy what you keep.
   * `false` gives every batch fresh arrays.
   */
  reuse?: boolean;
  /**
   * Keep the reused batch buffers in the memory the tensor kernels compute in
   * (PyTorch's `pin_memory`): the first layer's matrix product then reads a
   * batch where it is instead of copying it in. A `TensorDataset` or
   * `MnistSplit` (or a `Subset` of one) then copies its data into that memory
   * too, once, on the first batch, and each batch is gathered there by a
   * WebAssembly kernel (`gatherRows` of @neurite/tensor), several times
   * faster than JavaScript's loop, at the cost of a second copy of the data
   * (47 MB for MNIST's training images). Needs `reuse` (a last,
   * smaller batch gets plain arrays). Default false.
   *
   * @example
   * const loader = new DataLoader(train, { batchSize: 64, shuffle: true, pinMemory: true });
   */
  pinMemory?: boolean;
  /**
   * Makes a batch from the samples (`dataset.get(i)` of each) instead of
   * the default stacking; the result is yours (no buffer is reused).
   */
  collate?: (samples: never[]) => B;
  /** Applied in place to the first tensor of every batch (the images), e.g. `randomShift(1)`. */
  transform?: ImageTransform;
  /** `nchw` gives images as [B, channels, rows, cols]; needs an image dataset such as `MnistSplit`. */
  imageLayout?: ImageLayout;
}

/** The old name of `DataLoaderOptions`. */
export type BatchOptions = DataLoaderOptions;

/** Images as bytes plus int32 labels (the layout of `MnistSplit`): what the uint8 fast path reads. */
export interface BatchSource {
  /** `count` images back to back, one byte per pixel (0-255). */
  readonly pixels: Uint8Array;
  /** A 1-D int32 tensor of `count` labels. */
  readonly labels: Tensor;
  readonly count: number;
  readonly rows?: number;
  readonly cols?: number;
}

/** Mixed into the seed of the transforms' generator, so their draws do not repeat the shuffle's. */
const TRANSFORM_SALT = 0x2545f491;

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

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function typedName(value: unknown): string {
  if (value === null || typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'object';
}

/** A `BatchSource` that is not a `Dataset`, as the byte-image dataset it describes; a float array is refused. */
function fromSource(source: BatchSource): MnistSplit {
  const { pixels, labels, count } = source;
  if (!(pixels instanceof Uint8Array)) {
    throw new DataError(
      `DataLoader: pixels is a ${typedName(pixels)}, but the image path reads bytes 0-255 (a Uint8Array); for float features use new TensorDataset(features, labels)`,
    );
  }
  const features = count > 0 ? pixels.length / count : 0;
  const rows = source.rows ?? 1;
  const cols = source.cols ?? features / rows;
  return new MnistSplit(pixels, labels, rows, cols);
}

function isDataset(value: unknown): value is Dataset<unknown> {
  const d = value as Partial<Dataset<unknown>> | null;
  return (
    d !== null && typeof d === 'object' && typeof d.get === 'function' && Number.isInteger(d.length)
  );
}

/**
 * Mini-batches over a dataset, epoch after epoch, as PyTorch's
 * `DataLoader`. With `shuffle`, the order of epoch e is a Fisher-Yates
 * shuffle of 0 … length−1 by `new Rng(epochSeed(seed, e))`, and transforms
 * draw from a generator seeded by the seed and e too: an epoch's batches
 * depend on the seed and the epoch only, on every run and platform.
 *
 * Datasets that can gather (`TensorDataset`, `MnistSplit`, their
 * `Subset`s) write each batch straight into buffers of batchSize × sample
 * size, reused from batch to batch (see `reuse`): nothing is allocated per
 * sample. Other datasets are read with `get(i)` and stacked into the same
 * kind of buffers, or handed to `collate`. `MnistSplit`'s bytes are scaled
 * to [0, 1] as they are gathered.
 *
 * Iterating the loader itself (`for … of loader`) runs epochs 0, 1, 2 …
 * in turn; `epoch(e)` runs a given one.
 *
 * @example
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 32, shuffle: true, seed: 1 });
 * for (let e = 0; e < 3; e++) {
 *   for (const [xb, yb] of loader.epoch(e)) {
 *     // xb: [32, …x's sample shape], yb: [32, …]
 *   }
 * }
 */
export class DataLoader<B = Batch> implements Iterable<B> {
  readonly dataset: Dataset<unknown>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly reuse: boolean;
  readonly pinMemory: boolean;
  readonly imageLayout: ImageLayout;
  /** Batches per epoch. */
  readonly length: number;
  private readonly collate: ((samples: never[]) => B) | undefined;
  private readonly transform: ImageTransform | undefined;
  private nextEpoch = 0;
  private fieldsCache: readonly SampleField[] | undefined;
  private buffers: TypedArray[] | undefined;
  private orderBuffer: Int32Array | undefined;

  constructor(dataset: Dataset<unknown> | BatchSource, options: DataLoaderOptions<B>) {
    const {
      batchSize,
      shuffle = false,
      seed = 0,
      dropLast = false,
      reuse = true,
      pinMemory = false,
      collate,
      transform,
      imageLayout = 'flat',
    } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new DataError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(seed)) {
      throw new DataError(`DataLoader: seed must be an integer, got ${seed}`);
    }
    if (imageLayout !== 'flat' && imageLayout !== 'nchw') {
      throw new DataError(`DataLoader: imageLayout must be 'flat' or 'nchw', got ${imageLayout}`);
    }
    let data: Dataset<unknown>;
    if (isDataset(dataset)) data = dataset;
    else if (dataset && typeof dataset === 'object' && 'pixels' in dataset)
      data = fromSource(dataset);
    else throw new DataError('DataLoader: expected a Dataset (length and get(i))');
    if (collate && (transform || imageLayout !== 'flat')) {
      throw new DataError(
        'DataLoader: collate makes batches of its own: transform and imageLayout apply to the default batches only',
      );
    }
    if (pinMemory && (!reuse || collate)) {
      throw new DataError(
        `DataLoader: pinMemory pins the reused batch buffers of the default batches; it needs reuse: true and no collate (got reuse: ${reuse}${collate ? ', a collate function' : ''})`,
      );
    }
    if (imageLayout === 'nchw') {
      const image = isGatherDataset(data) ? data.imageShape : undefined;
      if (!image) {
        throw new DataError(
          `DataLoader: imageLayout 'nchw' needs an image dataset (such as MnistSplit); a ${typedName(data)} has no image shape`,
        );
      }
    }
    this.dataset = data;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.reuse = reuse;
    this.pinMemory = pinMemory;
    this.imageLayout = imageLayout;
    this.collate = collate;
    this.transform = transform;
    const count = data.length;
    this.length = dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
  }

  /** Samples per epoch (all of them, or fewer with `dropLast`). */
  get samples(): number {
    return this.dropLast ? this.length * this.batchSize : this.dataset.length;
  }

  /** The sample indices in the order epoch `epoch` visits them (a fresh array). */
  order(epoch: number): Int32Array {
    return this.fillOrder(new Int32Array(this.dataset.length), epoch);
  }

  private fillOrder(order: Int32Array, epoch: number): Int32Array {
    checkEpoch(epoch);
    for (let i = 0; i < order.length; i++) order[i] = i;
    if (this.shuffle) new Rng(epochSeed(this.seed, epoch)).shuffle(order);
    return order;
  }

  /** The batches of epoch `epoch`, in that epoch's order. */
  epoch(epoch: number): Generator<B, void, undefined> {
    checkEpoch(epoch);
    return this.run(epoch);
  }

  /** Runs the next epoch: 0 on the first iteration, then 1, 2 … */
  [Symbol.iterator](): Iterator<B> {
    return this.epoch(this.nextEpoch++);
  }

  private *run(epoch: number): Generator<B, void, undefined> {
    const count = this.dataset.length;
    if (this.reuse) this.orderBuffer ??= new Int32Array(count);
    const order = this.orderBuffer ? this.fillOrder(this.orderBuffer, epoch) : this.order(epoch);
    const rng = this.transform ? new Rng(epochSeed(this.seed ^ TRANSFORM_SALT, epoch)) : undefined;
    for (let b = 0; b < this.length; b++) {
      const start = b * this.batchSize;
      const size = Math.min(this.batchSize, count - start);
      const indices = this.reuse
        ? order.subarray(start, start + size)
        : order.slice(start, start + size);
      if (this.collate) {
        const samples = Array.from(indices, (i) => this.dataset.get(i));
        yield this.collate(samples as never[]);
        continue;
      }
      yield this.stack(indices, rng) as B;
    }
  }

  /** The default batch: the samples' fields stacked into (reused) buffers. */
  private stack(indices: Int32Array, rng: Rng | undefined): Batch {
    const size = indices.length;
    const data = this.dataset;
    let samples: Tensor[][] | undefined;
    if (!isGatherDataset(data)) {
      samples = Array.from(indices, (i) => sampleTensors(data.get(i), i));
      this.fieldsCache ??= samples[0]?.map((t) => ({ shape: t.shape, dtype: t.dtype }));
    }
    const fields = isGatherDataset(data) ? data.fields : (this.fieldsCache ?? []);
    const sizes = fields.map((f) => f.shape.reduce((a, b) => a * b, 1));
    let outs: TypedArray[];
    if (this.reuse) {
      const pinMemory = this.pinMemory;
      this.buffers ??= fields.map((f, k) =>
        allocate(f.dtype, this.batchSize * sizes[k]!, { pinMemory }),
      );
      // A pinned block lives as long as its whole buffer: no views of it are handed out.
      outs = this.buffers.map((buf, k) =>
        size === this.batchSize
          ? buf
          : pinMemory
            ? allocate(fields[k]!.dtype, size * sizes[k]!)
            : (buf.subarray(0, size * sizes[k]!) as TypedArray),
      );
    } else {
      outs = fields.map((f, k) => allocate(f.dtype, size * sizes[k]!));
    }
    if (samples) fillFromSamples(samples, indices, fields, sizes, outs);
    else (data as GatherDataset).gather(indices, outs);
    const image = isGatherDataset(data) ? data.imageShape : undefined;
    const tensors = fields.map((f, k) => {
      const shape = k === 0 && image && this.imageLayout === 'nchw' ? image : f.shape;
      return new Tensor(outs[k]!, [size, ...shape], f.dtype);
    });
    if (this.transform && rng) {
      const first = tensors[0]!;
      this.transform(first.data as FloatArray, imageBatchShape(first, image), rng);
    }
    return Object.assign(tensors, { indices });
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0) {
    throw new DataError(`DataLoader: epoch must be a non-negative integer, got ${epoch}`);
  }
}

/** The layout of a batch's images for a transform: from the dataset's image shape, or the batch's own [B, C, H, W] / [B, H, W]. */
function imageBatchShape(
  images: Tensor,
  image: readonly [number, number, number] | undefined,
): ImageBatchShape {
  if (images.dtype === 'int32') {
    throw new DataError(
      `DataLoader: transform needs float images, but the batch's first tensor is int32 ${fmt(images.shape)}`,
    );
  }
  const count = images.shape[0]!;
  if (image) return { count, channels: image[0], rows: image[1], cols: image[2] };
  if (images.ndim === 4) {
    const [, channels, rows, cols] = images.shape as [number, number, number, number];
    return { count, channels, rows, cols };
  }
  if (images.ndim === 3)
    return { count, channels: 1, rows: images.shape[1]!, cols: images.shape[2]! };
  throw new DataError(
    `DataLoader: transform needs images [B, C, H, W] or [B, H, W], but the batch's first tensor is ${fmt(images.shape)}`,
  );
}

/** A sample as its list of tensors. */
function sampleTensors(sample: unknown, i: number): Tensor[] {
  if (sample instanceof Tensor) return [sample];
  if (Array.isArray(sample) && sample.every((t) => t instanceof Tensor)) return sample;
  throw new DataError(
    `DataLoader: sample ${i} is a ${typedName(sample)}; the default batching stacks a Tensor or an array of Tensors (pass collate for anything else)`,
  );
}

function fillFromSamples(
  samples: Tensor[][],
  indices: Int32Array,
  fields: readonly SampleField[],
  sizes: number[],
  outs: TypedArray[],
): void {
  samples.forEach((tensors, j) => {
    if (tensors.length !== fields.length) {
      throw new DataError(
        `DataLoader: sample ${indices[j]} has ${tensors.length} tensors, the first sample ${fields.length}`,
      );
    }
    tensors.forEach((t, k) => {
      const f = fields[k]!;
      if (t.dtype !== f.dtype || fmt(t.shape) !== fmt(f.shape)) {
        throw new DataError(
          `DataLoader: tensor ${k} of sample ${indices[j]} is ${t.dtype} ${fmt(t.shape)}, but the first sample's is ${f.dtype} ${fmt(f.shape)}`,
        );
      }
      outs[k]!.set(t.data, j * sizes[k]!);
    });
  });
}

/**
 * The batches of one epoch (`epoch`, default 0) of `dataset`: shorthand for
 * `new DataLoader(dataset, options).epoch(epoch)`.
 *
 * @example
 * for (const [images, labels] of batches(mnist.test, { batchSize: 1000 })) {
 *   // evaluate on images [1000, 784]
 * }
 */
export function batches<B = Batch>(
  dataset: Dataset<unknown> | BatchSource,
  options: DataLoaderOptions<B> & { epoch?: number },
): Generator<B, void, undefined> {
  return new DataLoader<B>(dataset, options).epoch(options.epoch ?? 0);
}
