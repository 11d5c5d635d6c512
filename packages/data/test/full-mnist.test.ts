import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches, type Mnist } from '../src/index.js';
import { loadMnist, loadMnistDir } from '../src/node.js';
import { histogram } from './support.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dir = resolve(repoRoot, '../shared/datasets/mnist');

// The published class counts of MNIST.
const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
// Checksums of the pixel bytes, taken with node:zlib (a decoder independent of this package).
const TRAIN_PIXELS = {
  sum: 1567298545,
  sha256: '741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757',
};
const TEST_PIXELS = {
  sum: 264923200,
  sha256: '6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161',
};

describe.skipIf(!existsSync(dir))(`full MNIST from ${dir}`, () => {
  let mnist: Mnist;
  beforeAll(async () => {
    mnist = await loadMnistDir(dir);
  }, 30_000);

  it('has 60,000 training and 10,000 test digits with the published label counts', () => {
    expect(mnist.train.count).toBe(60_000);
    expect(mnist.test.count).toBe(10_000);
    expect(histogram(mnist.train.labels.data)).toEqual(TRAIN_COUNTS);
    expect(histogram(mnist.test.labels.data)).toEqual(TEST_COUNTS);
    expect(Array.from(mnist.train.labels.data.subarray(0, 10))).toEqual([
      5, 0, 4, 1, 9, 2, 1, 3, 1, 4,
    ]);
    expect(Array.from(mnist.test.labels.data.subarray(0, 10))).toEqual([
      7, 2, 1, 0, 4, 1, 4, 9, 5, 9,
    ]);
  });

  it('has the right pixels: checksums, and the well-known mean 0.1307 and deviation 0.3081', () => {
    for (const [split, expected] of [
      [mnist.train, TRAIN_PIXELS],
      [mnist.test, TEST_PIXELS],
    ] as const) {
      expect(createHash('sha256').update(split.pixels).digest('hex')).toBe(expected.sha256);
      let sum = 0;
      for (let i = 0; i < split.pixels.length; i++) sum += split.pixels[i]!;
      expect(sum).toBe(expected.sum);
    }
    let sum = 0;
    let squares = 0;
    for (let i = 0; i < mnist.train.pixels.length; i++) {
      const v = mnist.train.pixels[i]! / 255;
      sum += v;
      squares += v * v;
    }
    const n = mnist.train.pixels.length;
    const mean = sum / n;
    expect(mean).toBeCloseTo(0.1307, 4);
    expect(Math.sqrt(squares / n - mean * mean)).toBeCloseTo(0.3081, 4);
  });

  it('keeps the training images as one contiguous byte array, nothing more', () => {
    const { pixels } = mnist.train;
    expect(pixels).toBeInstanceOf(Uint8Array);
    expect(pixels.length).toBe(60_000 * 784);
    // The view spans its whole buffer but for the IDX header and a spare byte: no second copy.
    expect(pixels.buffer.byteLength - pixels.length).toBeLessThan(64);
  });

  it('batches the whole training set once per epoch', () => {
    const seen = new Uint8Array(60_000);
    let images = 0;
    for (const batch of batches(mnist.train, { batchSize: 1000, shuffle: true, seed: 1 })) {
      for (const i of batch.indices) seen[i]! += 1;
      images += batch[0]!.shape[0]!;
    }
    expect(images).toBe(60_000);
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  it('loadMnist(dir) reads the same folder', async () => {
    const again = await loadMnist(dir);
    expect(again.test.count).toBe(10_000);
  });
});
