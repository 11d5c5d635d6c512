import { isPinned, Rng, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { DataLoader, MnistSplit, Subset, TensorDataset } from '../src/index.js';
import { pixelScale } from '../src/mnist.js';

const rng = new Rng(11);

/** `count` images of 7×7 random bytes (every value 0–255 occurs), labels at random. */
function randomSplit(count: number): MnistSplit {
  const pixels = Uint8Array.from({ length: count * 49 }, (_, i) =>
    i < 256 ? i : Math.floor(rng.float() * 256),
  );
  const labels = Int32Array.from({ length: count }, () => Math.floor(rng.float() * 10));
  return new MnistSplit(pixels, labels, 7, 7);
}

/** Every batch of an epoch as the bits of each of its arrays (batches overwrite each other, so each is read as it comes). */
function bits(loader: DataLoader, epoch: number): number[][][] {
  return Array.from(loader.epoch(epoch), (b) =>
    b.map((t) =>
      Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 4)),
    ),
  );
}

/** The storage a dataset pinned for its gathers (private fields, read to check the fast path ran). */
const pinnedOf = (data: unknown, field: string): unknown =>
  (data as Record<string, unknown>)[field];

describe('pinned gathers', () => {
  it('MnistSplit: a pinMemory loader gives the bits of a plain one and of pixel / 255, its pixels pinned once', () => {
    const split = randomSplit(300);
    const options = { batchSize: 64, shuffle: true, seed: 3 };
    const plain = new DataLoader(split, options);
    const pinned = new DataLoader(split, { ...options, pinMemory: true });
    const want = bits(plain, 1);
    expect(bits(pinned, 1)).toEqual(want);
    const pixels = pinnedOf(split, 'pinnedPixels') as Uint8Array;
    expect(isPinned(pixels)).toBe(true);
    expect(pixels).not.toBe(split.pixels);
    expect(bits(pinned, 2)).toEqual(bits(plain, 2));
    expect(pinnedOf(split, 'pinnedPixels')).toBe(pixels);

    // And what the batches hold is the pixel scale's table (pixel / 255 as float32), label for label.
    const table = pixelScale();
    for (let p = 0; p < 256; p++) expect(table[p]).toBe(Math.fround(p / 255));
    const order = pinned.order(1);
    want.forEach(([images, labels], b) => {
      const indices = order.subarray(b * 64, b * 64 + 64);
      indices.forEach((sample, j) => {
        expect(labels![j]).toBe(split.labels.data[sample]);
        const image = new Float32Array(new Uint32Array(images!.slice(j * 49, j * 49 + 49)).buffer);
        expect(Array.from(image)).toEqual(
          Array.from(split.image(sample), (p) => Math.fround(p / 255)),
        );
      });
    });
  });

  it('a plain loader leaves the pixels unpinned', () => {
    const split = randomSplit(100);
    bits(new DataLoader(split, { batchSize: 64 }), 0);
    expect(pinnedOf(split, 'pinnedPixels')).toBeUndefined();
  });

  it('TensorDataset and Subset: a pinMemory loader gives the bits of a plain one', () => {
    const n = 200;
    const features = tensor(
      Float32Array.from({ length: n * 20 }, () => rng.normal()),
      {
        shape: [n, 20],
      },
    );
    const wide = tensor(
      Float64Array.from({ length: n * 30 }, () => rng.normal()),
      {
        shape: [n, 30],
      },
    );
    const labels = tensor(
      Int32Array.from({ length: n }, (_, i) => i * 7),
      { shape: [n] },
    );
    const data = new TensorDataset(features, wide, labels);
    const subset = new Subset(
      data,
      Int32Array.from({ length: 150 }, (_, i) => (i * 13) % n),
    );
    for (const set of [data, subset]) {
      const options = { batchSize: 64, shuffle: true, seed: 9 };
      const want = bits(new DataLoader(set, options), 0);
      expect(bits(new DataLoader(set, { ...options, pinMemory: true }), 0)).toEqual(want);
    }
    const pinned = pinnedOf(data, 'pinned') as ArrayBufferView[];
    expect(pinned.map((a) => isPinned(a))).toEqual([true, true, true]);
  });
});
