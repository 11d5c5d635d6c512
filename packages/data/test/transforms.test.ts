import { Rng, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  compose,
  DataLoader,
  epochSeed,
  MnistSplit,
  normalize,
  randomCrop,
  randomHorizontalFlip,
  randomShift,
  randomVerticalFlip,
  TensorDataset,
} from '../src/index.js';

const shape = { count: 1, channels: 1, rows: 3, cols: 3 };
const grid = () => Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

/** An rng whose int(3) draws are the given values (each returns its value as the low bits). */
function drawing(values: number[]): Rng {
  const rng = new Rng(0);
  let k = 0;
  rng.int = () => values[k++]!;
  return rng;
}

describe('image transforms', () => {
  it('randomShift moves by (dx, dy), x drawn first, and fills the border', () => {
    const images = grid();
    // int(3) = 2 → dx = +1; int(3) = 0 → dy = −1
    randomShift(1)(images, shape, drawing([2, 0]));
    expect(Array.from(images)).toEqual([0, 4, 5, 0, 7, 8, 0, 0, 0]);
    const same = grid();
    randomShift(1)(same, shape, drawing([1, 1]));
    expect(Array.from(same)).toEqual(Array.from(grid()));
  });

  it('randomCrop pads and crops back: top drawn first, then left', () => {
    const images = grid();
    // top 0, left 2 of a padding of 1: the window starts one row above and one column right.
    randomCrop(1, { fill: -1 })(images, shape, drawing([0, 2]));
    expect(Array.from(images)).toEqual([-1, -1, -1, 2, 3, -1, 5, 6, -1]);
  });

  it('flips left-right and top-bottom, every channel', () => {
    const two = { count: 1, channels: 2, rows: 2, cols: 2 };
    const h = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    randomHorizontalFlip(1)(h, two, new Rng(1));
    expect(Array.from(h)).toEqual([2, 1, 4, 3, 6, 5, 8, 7]);
    const v = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    randomVerticalFlip(1)(v, two, new Rng(1));
    expect(Array.from(v)).toEqual([3, 4, 1, 2, 7, 8, 5, 6]);
    const none = grid();
    randomHorizontalFlip(0)(none, shape, new Rng(1));
    expect(Array.from(none)).toEqual(Array.from(grid()));
    expect(() => randomHorizontalFlip(1.5)).toThrow(
      'randomHorizontalFlip: p must be in [0, 1], got 1.5',
    );
  });

  it('flips about half the images with p = 0.5', () => {
    const count = 2000;
    const images = new Float32Array(count * 2);
    for (let i = 0; i < count; i++) images.set([0, 1], i * 2);
    randomHorizontalFlip()(images, { count, channels: 1, rows: 1, cols: 2 }, new Rng(3));
    let flipped = 0;
    for (let i = 0; i < count; i++) flipped += images[i * 2]!;
    expect(flipped).toBeGreaterThan(900);
    expect(flipped).toBeLessThan(1100);
  });

  it('normalize subtracts the mean and divides by the deviation per channel', () => {
    const images = Float32Array.from([1, 3, 10, 20]);
    normalize([1, 10], [2, 5])(images, { count: 1, channels: 2, rows: 1, cols: 2 }, new Rng(0));
    expect(Array.from(images)).toEqual([0, 1, 0, 2]);
    expect(() => normalize(0, 0)).toThrow(/std must be positive/);
    expect(() =>
      normalize([1, 2, 3], 1)(images, { count: 1, channels: 2, rows: 1, cols: 2 }, new Rng(0)),
    ).toThrow('normalize: 3 values of mean for images of 2 channels');
  });

  it('compose applies transforms in order', () => {
    const images = grid();
    compose(normalize(1, 2), randomHorizontalFlip(1))(images, shape, new Rng(0));
    expect(Array.from(images)).toEqual([1, 0.5, 0, 2.5, 2, 1.5, 4, 3.5, 3]);
  });
});

describe('DataLoader with a transform', () => {
  const pixels = Uint8Array.from({ length: 50 * 16 }, (_, k) => (k * 37) % 256);
  const split = new MnistSplit(
    pixels,
    Int32Array.from({ length: 50 }, (_, i) => i % 10),
    4,
    4,
  );

  it('augments the images, the same for the same seed and epoch', () => {
    const run = (seed: number, epoch: number) =>
      [
        ...new DataLoader(split, {
          batchSize: 16,
          shuffle: true,
          seed,
          transform: randomShift(1),
        }).epoch(epoch),
      ].map((b) => Array.from(b[0]!.data));
    const plain = [
      ...new DataLoader(split, { batchSize: 16, shuffle: true, seed: 2 }).epoch(1),
    ].map((b) => Array.from(b[0]!.data));
    expect(run(2, 1)).toEqual(run(2, 1));
    expect(run(2, 1)).not.toEqual(plain);
    expect(run(2, 1)).not.toEqual(run(2, 2));
  });

  it('shifts by the documented recipe: each epoch draws from new Rng(epochSeed(seed ^ 0x2545f491, e))', () => {
    const [batch] = [
      ...new DataLoader(split, { batchSize: 50, seed: 9, transform: randomShift(1) }).epoch(3),
    ];
    const [plain] = [...new DataLoader(split, { batchSize: 50 }).epoch(0)];
    const expected = Float32Array.from(plain![0]!.data);
    randomShift(1)(
      expected,
      { count: 50, channels: 1, rows: 4, cols: 4 },
      new Rng(epochSeed(9 ^ 0x2545f491, 3)),
    );
    expect(Array.from(batch![0]!.data)).toEqual(Array.from(expected));
  });

  it('refuses a transform on a batch that is not images', () => {
    const flat = new TensorDataset(tensor([[1, 2]]));
    expect(() => [
      ...new DataLoader(flat, { batchSize: 1, transform: randomShift(1) }).epoch(0),
    ]).toThrow(
      "DataLoader: transform needs images [B, C, H, W] or [B, H, W], but the batch's first tensor is [1, 2]",
    );
  });
});
