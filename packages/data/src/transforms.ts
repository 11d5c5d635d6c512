import type { Rng } from '@neurite/tensor';
import { DataError } from './errors.js';

/** Float storage a transform writes: a batch's images, image after image, channel after channel. */
export type FloatArray = Float32Array | Float64Array;

/** The layout of a batch of images in a flat array: `count × channels × rows × cols`, row-major. */
export interface ImageBatchShape {
  readonly count: number;
  readonly channels: number;
  readonly rows: number;
  readonly cols: number;
}

/**
 * Changes a batch of images in place. Randomness comes from `rng` only, so
 * a `DataLoader` that hands each epoch its own seeded generator gives the
 * same augmented batches for the same seed. Use one directly on any buffer,
 * or give it to a `DataLoader` as `transform`.
 *
 * @example
 * const shift = randomShift(2);
 * shift(images.data, { count: 64, channels: 1, rows: 28, cols: 28 }, new Rng(1));
 */
export type ImageTransform = (images: FloatArray, shape: ImageBatchShape, rng: Rng) => void;

function checkShape(name: string, images: FloatArray, shape: ImageBatchShape): number {
  const { count, channels, rows, cols } = shape;
  const n = channels * rows * cols;
  if (images.length < count * n) {
    throw new DataError(
      `${name}: ${images.length} values cannot hold ${count} images of ${channels}×${rows}×${cols}`,
    );
  }
  return n;
}

/**
 * Moves every image by (dx, dy) whole pixels, the uncovered border filled
 * with `fill`; `scratch` holds one image.
 */
function moveImage(
  images: FloatArray,
  start: number,
  shape: ImageBatchShape,
  dx: number,
  dy: number,
  fill: number,
  scratch: FloatArray,
): void {
  const { channels, rows, cols } = shape;
  const n = channels * rows * cols;
  if (dx === 0 && dy === 0) return;
  scratch.set(images.subarray(start, start + n));
  images.fill(fill, start, start + n);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(cols, cols + dx);
  for (let c = 0; c < channels; c++) {
    const plane = c * rows * cols;
    for (let y = 0; y < rows; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= rows) continue;
      const from = plane + sy * cols - dx;
      const to = start + plane + y * cols;
      for (let x = x0; x < x1; x++) images[to + x] = scratch[from + x]!;
    }
  }
}

function nonNegativeInt(name: string, field: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) {
    throw new DataError(`${name}: ${field} must be a non-negative integer, got ${v}`);
  }
}

/**
 * Moves each image by a random whole number of pixels, up to `maxShift` in
 * x and in y (each of the 2·maxShift + 1 offsets equally likely, x drawn
 * first), filling the uncovered border with `fill` (default 0, the
 * background of MNIST). A ±1 px shift of every training digit each time it
 * is seen gains a small MNIST network about a point of accuracy.
 *
 * @example
 * const loader = new DataLoader(mnist.train, { batchSize: 64, shuffle: true, transform: randomShift(1) });
 */
export function randomShift(
  maxShift: number,
  { fill = 0 }: { fill?: number } = {},
): ImageTransform {
  nonNegativeInt('randomShift', 'maxShift', maxShift);
  const span = 2 * maxShift + 1;
  let scratch: Float64Array = new Float64Array(0);
  return (images, shape, rng) => {
    const n = checkShape('randomShift', images, shape);
    if (scratch.length < n) scratch = new Float64Array(n);
    for (let b = 0; b < shape.count; b++) {
      const dx = rng.int(span) - maxShift;
      const dy = rng.int(span) - maxShift;
      moveImage(images, b * n, shape, dx, dy, fill, scratch);
    }
  };
}

/**
 * Torchvision's `RandomCrop(size, padding)` at the image's own size: pads
 * each image by `padding` pixels of `fill` on every side and crops a window
 * of the original size at a random position (top drawn first, then left).
 * The usual augmentation of CIFAR and MNIST convnets.
 *
 * @example
 * const crop = randomCrop(2); // as RandomCrop(28, padding=2) on MNIST
 */
export function randomCrop(padding: number, { fill = 0 }: { fill?: number } = {}): ImageTransform {
  nonNegativeInt('randomCrop', 'padding', padding);
  const span = 2 * padding + 1;
  let scratch: Float64Array = new Float64Array(0);
  return (images, shape, rng) => {
    const n = checkShape('randomCrop', images, shape);
    if (scratch.length < n) scratch = new Float64Array(n);
    for (let b = 0; b < shape.count; b++) {
      const top = rng.int(span);
      const left = rng.int(span);
      moveImage(images, b * n, shape, padding - left, padding - top, fill, scratch);
    }
  };
}

function checkProbability(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new DataError(`${name}: p must be in [0, 1], got ${p}`);
}

function flipper(name: string, horizontal: boolean, p: number): ImageTransform {
  checkProbability(name, p);
  return (images, shape, rng) => {
    const n = checkShape(name, images, shape);
    const { channels, rows, cols } = shape;
    for (let b = 0; b < shape.count; b++) {
      if (!(rng.float() < p)) continue;
      for (let c = 0; c < channels; c++) {
        const plane = b * n + c * rows * cols;
        if (horizontal) {
          for (let y = 0; y < rows; y++) {
            const row = plane + y * cols;
            for (let x = 0, z = cols - 1; x < z; x++, z--) {
              const t = images[row + x]!;
              images[row + x] = images[row + z]!;
              images[row + z] = t;
            }
          }
        } else {
          for (let y = 0, z = rows - 1; y < z; y++, z--) {
            for (let x = 0; x < cols; x++) {
              const i = plane + y * cols + x;
              const j = plane + z * cols + x;
              const t = images[i]!;
              images[i] = images[j]!;
              images[j] = t;
            }
          }
        }
      }
    }
  };
}

/**
 * Mirrors each image left-right with probability `p` (default 0.5), as
 * torchvision's `RandomHorizontalFlip`. `p = 1` always flips.
 *
 * @example
 * const flip = randomHorizontalFlip(); // for photos; digits are not symmetric
 */
export function randomHorizontalFlip(p = 0.5): ImageTransform {
  return flipper('randomHorizontalFlip', true, p);
}

/**
 * Mirrors each image top-bottom with probability `p` (default 0.5), as
 * torchvision's `RandomVerticalFlip`.
 *
 * @example
 * const flip = randomVerticalFlip(1); // always
 */
export function randomVerticalFlip(p = 0.5): ImageTransform {
  return flipper('randomVerticalFlip', false, p);
}

/**
 * (x − mean) / std per channel, as torchvision's `Normalize`: one number
 * for every channel, or one per channel.
 *
 * @example
 * const norm = normalize(0.1307, 0.3081); // MNIST's pixel mean and deviation
 */
export function normalize(
  mean: number | readonly number[],
  std: number | readonly number[],
): ImageTransform {
  const means = typeof mean === 'number' ? [mean] : mean.slice();
  const stds = typeof std === 'number' ? [std] : std.slice();
  if (means.length === 0 || means.some((m) => !Number.isFinite(m))) {
    throw new DataError(`normalize: mean must be finite numbers, got ${String(mean)}`);
  }
  if (stds.length === 0 || stds.some((s) => !(Number.isFinite(s) && s > 0))) {
    throw new DataError(`normalize: std must be positive numbers, got ${String(std)}`);
  }
  return (images, shape) => {
    const n = checkShape('normalize', images, shape);
    const { channels, rows, cols } = shape;
    for (const [what, list] of [
      ['mean', means],
      ['std', stds],
    ] as const) {
      if (list.length !== 1 && list.length !== channels) {
        throw new DataError(
          `normalize: ${list.length} values of ${what} for images of ${channels} channels`,
        );
      }
    }
    const plane = rows * cols;
    for (let b = 0; b < shape.count; b++) {
      for (let c = 0; c < channels; c++) {
        const m = means[means.length === 1 ? 0 : c]!;
        const s = stds[stds.length === 1 ? 0 : c]!;
        const start = b * n + c * plane;
        for (let i = start; i < start + plane; i++) images[i] = (images[i]! - m) / s;
      }
    }
  };
}

/**
 * Several transforms applied in order, as torchvision's `Compose`.
 *
 * @example
 * const augment = compose(randomCrop(2), normalize(0.1307, 0.3081));
 */
export function compose(...transforms: ImageTransform[]): ImageTransform {
  return (images, shape, rng) => {
    for (const t of transforms) t(images, shape, rng);
  };
}
