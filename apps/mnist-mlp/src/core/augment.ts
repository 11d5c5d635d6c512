import type { Rng } from '@neurite/tensor';

/**
 * Writes images `indices` of `pixels` (bytes, `rows × cols` each) into
 * `out` as floats in [0, 1] (through `scale`, the same byte → float table
 * the data loader uses), each moved by a random whole-pixel shift of up to
 * `maxShift` in x and y, the uncovered border filled with background 0.
 *
 * Integer shifts on the bytes are a row copy per image row: cheap enough
 * to run on every batch, and they teach a small network that a digit two
 * pixels to the left is the same digit.
 *
 * @example
 * shiftInto(batch.images.data, train.pixels, batch.indices, 28, 28, 2, rng, byteScale());
 */
export function shiftInto(
  out: Float32Array,
  pixels: Uint8Array,
  indices: ArrayLike<number>,
  rows: number,
  cols: number,
  maxShift: number,
  rng: Rng,
  scale: Float32Array,
): void {
  const n = rows * cols;
  if (out.length < indices.length * n) {
    throw new RangeError(
      `shiftInto: ${out.length} floats cannot hold ${indices.length} images of ${n}`,
    );
  }
  const span = 2 * maxShift + 1;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * n;
    const dst = b * n;
    const dx = rng.int(span) - maxShift;
    const dy = rng.int(span) - maxShift;
    out.fill(0, dst, dst + n);
    const x0 = Math.max(0, dx);
    const x1 = Math.min(cols, cols + dx);
    for (let y = 0; y < rows; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= rows) continue;
      const row = src + sy * cols - dx;
      const to = dst + y * cols;
      for (let x = x0; x < x1; x++) out[to + x] = scale[pixels[row + x]!]!;
    }
  }
}
