import { gatherRows, isPinned, pinArray, Tensor, type TypedArray, tensor } from '@neurite/tensor';
import { checkIndex, type GatherDataset, type SampleField } from './dataset.js';
import { DataError, IdxError } from './errors.js';
import { type IdxData, parseIdx } from './idx.js';

/**
 * One part (training or test) of an image dataset in MNIST's layout, and
 * the fast uint8 path of `DataLoader`. `pixels` is the only copy of the
 * images: `count * rows * cols` bytes, image after image, row by row, 0
 * (background) to 255 (ink). As a `Dataset`, sample i is
 * `[image, label]`: the image as float32 [rows·cols] in [0, 1] (or
 * [1, rows, cols] from a loader with `imageLayout: 'nchw'`), the label an
 * int32 scalar.
 *
 * @example
 * const { train } = await loadEmbeddedMnist();
 * train.count;          // 8000
 * train.labels.shape;   // [8000], int32
 * train.image(0);       // the first image's 784 bytes (a view)
 * const [image, label] = train.get(0); // Tensor [784] float32, Tensor [] int32
 */
export class MnistSplit implements GatherDataset {
  /** All images, `count * rows * cols` bytes, contiguous: the only copy. */
  readonly pixels: Uint8Array;
  /** The class of every image: an int32 tensor of shape [count]. */
  readonly labels: Tensor;
  /** The number of images. */
  readonly count: number;
  /** Image height in pixels (28 for MNIST). */
  readonly rows: number;
  /** Image width in pixels (28 for MNIST). */
  readonly cols: number;
  private cachedImages: Tensor | undefined;
  /** `pixels` in the kernels' memory (`pinArray`), once a gather into a pinned batch asked. */
  private pinnedPixels: Uint8Array | undefined;

  constructor(pixels: Uint8Array, labels: Tensor | Int32Array | Uint8Array, rows = 28, cols = 28) {
    if (!(pixels instanceof Uint8Array)) {
      const kind = (pixels as object | null)?.constructor?.name ?? typeof pixels;
      throw new DataError(
        `MnistSplit: pixels is a ${kind}, but images are read as bytes 0-255 (a Uint8Array); for float features use new TensorDataset(features, labels)`,
      );
    }
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
      throw new DataError(
        `MnistSplit: rows and cols must be positive integers, got ${rows}×${cols}`,
      );
    }
    if (
      !(labels instanceof Tensor || labels instanceof Int32Array || labels instanceof Uint8Array)
    ) {
      const kind = (labels as object | null)?.constructor?.name ?? typeof labels;
      throw new DataError(
        `MnistSplit: labels is a ${kind}, but must be an int32 Tensor, an Int32Array or a Uint8Array (an IDX label file's bytes)`,
      );
    }
    const labelTensor =
      labels instanceof Tensor
        ? labels
        : tensor(labels instanceof Uint8Array ? Int32Array.from(labels) : labels);
    if (labelTensor.dtype !== 'int32' || labelTensor.ndim !== 1) {
      throw new DataError(
        `MnistSplit: labels must be a 1-D int32 tensor, got ${labelTensor.dtype} of shape [${labelTensor.shape.join(', ')}]`,
      );
    }
    const count = labelTensor.shape[0]!;
    if (pixels.length !== count * rows * cols) {
      throw new DataError(
        `MnistSplit: ${count} labels of ${rows}×${cols} images need ${count * rows * cols} pixels, got ${pixels.length}`,
      );
    }
    this.pixels = pixels;
    this.labels = labelTensor;
    this.count = count;
    this.rows = rows;
    this.cols = cols;
  }

  /** Pixels per image: `rows * cols` (784 for MNIST). */
  get features(): number {
    return this.rows * this.cols;
  }

  /** The number of images (`count`), as a `Dataset`. */
  get length(): number {
    return this.count;
  }

  /** A sample's fields: the image as float32 [rows·cols], the label as int32 []. */
  get fields(): readonly SampleField[] {
    return [
      { shape: [this.features], dtype: 'float32' },
      { shape: [], dtype: 'int32' },
    ];
  }

  /** [channels, rows, cols] of an image: [1, 28, 28] for MNIST. */
  get imageShape(): readonly [number, number, number] {
    return [1, this.rows, this.cols];
  }

  /** Sample `i`: its image as float32 [rows·cols] in [0, 1] and its label as an int32 scalar. */
  get(i: number): Tensor[] {
    checkIndex('MnistSplit.get', i, this.count);
    const image = new Float32Array(this.features);
    const label = new Int32Array(1);
    this.gather([i], [image, label]);
    return [new Tensor(image, [this.features], 'float32'), new Tensor(label, [], 'int32')];
  }

  /**
   * Writes images `indices` scaled to [0, 1] (pixel / 255 as float32) into
   * `out[0]` and their labels into `out[1]`. Into a pinned `out[0]` (a
   * `DataLoader` with `pinMemory`), the first call copies `pixels` into the
   * kernels' memory once (`pinArray`: the images' bytes are then held twice)
   * and every call scales the bytes there with a WebAssembly kernel
   * (`gatherRows`); where nothing can be pinned, and into plain arrays,
   * JavaScript does, with the same bits.
   */
  gather(indices: ArrayLike<number>, out: readonly TypedArray[]): void {
    const [images, targets] = out as [Float32Array, Int32Array];
    let pixels = this.pixels;
    if (isPinned(images)) pixels = this.pinnedPixels ??= pinArray(this.pixels);
    gatherRows(pixels, this.features, indices, images);
    const labels = this.labels.data;
    for (let j = 0; j < indices.length; j++) targets[j] = labels[indices[j]!]!;
  }

  /**
   * All images as a float32 tensor [count, rows*cols] with values in [0, 1].
   * Made on first access and cached: 4 bytes per pixel (188 MB for the full
   * MNIST training set), so training loops should use a `DataLoader` instead,
   * which reads `pixels` directly.
   */
  get images(): Tensor {
    if (this.cachedImages === undefined) {
      const scaled = new Float32Array(this.pixels.length);
      const lut = pixelScale();
      for (let i = 0; i < scaled.length; i++) scaled[i] = lut[this.pixels[i]!]!;
      this.cachedImages = tensor(scaled, { shape: [this.count, this.features] });
    }
    return this.cachedImages;
  }

  /** Image `i`'s `rows * cols` bytes, a view into `pixels`. */
  image(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new DataError(`MnistSplit.image: index ${i} is outside [0, ${this.count})`);
    }
    const n = this.features;
    return this.pixels.subarray(i * n, (i + 1) * n);
  }

  /** The label of image `i`. */
  label(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new DataError(`MnistSplit.label: index ${i} is outside [0, ${this.count})`);
    }
    return this.labels.data[i]!;
  }
}

/** A dataset in MNIST's layout: a training and a test split. */
export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

/** The bytes of the four IDX files of a dataset in MNIST's layout (gzipped or not). */
export interface MnistIdxFiles {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

let scaleTable: Float32Array | undefined;

/** pixel → pixel/255 as float32, for all 256 byte values. */
export function pixelScale(): Float32Array {
  if (scaleTable === undefined) {
    scaleTable = new Float32Array(256);
    for (let p = 0; p < 256; p++) scaleTable[p] = p / 255;
  }
  return scaleTable;
}

/** A split from a parsed images file [count, rows, cols] uint8 and labels file [count]. */
export function splitFromIdx(
  images: IdxData,
  labels: IdxData,
  imagesName: string,
  labelsName: string,
): MnistSplit {
  if (images.type !== 'uint8' || images.dims.length !== 3) {
    throw new IdxError(
      `${imagesName}: images must be a 3-D uint8 IDX array [count, rows, cols], ` +
        `got ${images.type} [${images.dims.join(', ')}]`,
    );
  }
  if (labels.dims.length !== 1 || labels.type === 'float32' || labels.type === 'float64') {
    throw new IdxError(
      `${labelsName}: labels must be a 1-D integer IDX array [count], got ${labels.type} [${labels.dims.join(', ')}]`,
    );
  }
  const [count, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new IdxError(
      `${labelsName}: ${labels.dims[0]} labels, but ${imagesName} holds ${count} images`,
    );
  }
  const classes = Int32Array.from(labels.data);
  const negative = classes.findIndex((c) => c < 0);
  if (negative >= 0) {
    throw new IdxError(
      `${labelsName}: label ${negative} is ${classes[negative]}: labels must be ≥ 0`,
    );
  }
  return new MnistSplit(images.data, classes, rows, cols);
}

/**
 * A dataset from the bytes of its four IDX files in MNIST's layout
 * (MNIST, Fashion-MNIST, or your own): images [count, rows, cols] uint8,
 * labels [count] of an integer type, gzipped or not. Errors name the file
 * (by `names`, or by its role: `trainImages` …).
 *
 * @example
 * const mnist = mnistFromIdx({ trainImages, trainLabels, testImages, testLabels });
 * mnist.train.count; // 60000
 */
export function mnistFromIdx(
  files: MnistIdxFiles,
  names: Partial<Record<keyof MnistIdxFiles, string>> = {},
): Mnist {
  const name = (key: keyof MnistIdxFiles) => names[key] ?? key;
  const split = (images: 'trainImages' | 'testImages', labels: 'trainLabels' | 'testLabels') =>
    splitFromIdx(
      parseIdx(files[images], name(images)),
      parseIdx(files[labels], name(labels)),
      name(images),
      name(labels),
    );
  const train = split('trainImages', 'trainLabels');
  const test = split('testImages', 'testLabels');
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new IdxError(
      `${name('testImages')}: ${test.rows}×${test.cols} images, but ${name('trainImages')} has ${train.rows}×${train.cols}`,
    );
  }
  return { train, test };
}
