import { arange, Rng, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  DataError,
  DataLoader,
  type Dataset,
  MnistSplit,
  randomSplit,
  Subset,
  TensorDataset,
} from '../src/index.js';

/** Features [n, 3] float32 = (i, 2i, 3i), token rows [n, 2] int32 = (i, −i), targets [n] float64 = i / 2. */
function mixed(n: number): TensorDataset {
  const x = tensor(
    Float32Array.from({ length: n * 3 }, (_, k) => Math.floor(k / 3) * ((k % 3) + 1)),
    {
      shape: [n, 3],
    },
  );
  const tokens = tensor(
    Int32Array.from({ length: n * 2 }, (_, k) => (k % 2 ? -1 : 1) * Math.floor(k / 2)),
    {
      shape: [n, 2],
      dtype: 'int32',
    },
  );
  const y = tensor(
    Float64Array.from({ length: n }, (_, i) => i / 2),
    { dtype: 'float64' },
  );
  return new TensorDataset(x, tokens, y);
}

describe('TensorDataset', () => {
  it('batches tensors of any dtype and shape, row by row in the loader order', () => {
    const data = mixed(23);
    expect(data.length).toBe(23);
    const loader = new DataLoader(data, { batchSize: 5, shuffle: true, seed: 4 });
    let seen = 0;
    for (const batch of loader.epoch(1)) {
      const [x, tokens, y] = batch as unknown as [Tensor, Tensor, Tensor];
      expect([x.dtype, tokens.dtype, y.dtype]).toEqual(['float32', 'int32', 'float64']);
      expect(x.shape).toEqual([batch.indices.length, 3]);
      expect(tokens.shape).toEqual([batch.indices.length, 2]);
      expect(y.shape).toEqual([batch.indices.length]);
      batch.indices.forEach((i, j) => {
        expect(Array.from(x.data.subarray(j * 3, j * 3 + 3))).toEqual([i, 2 * i, 3 * i]);
        expect(Array.from(tokens.data.subarray(j * 2, j * 2 + 2))).toEqual([i, -i || 0]);
        expect(y.data[j]).toBe(i / 2);
      });
      seen += batch.indices.length;
    }
    expect(seen).toBe(23);
  });

  it('get(i) gives sample i of every tensor', () => {
    const [x, tokens, y] = mixed(4).get(2) as [Tensor, Tensor, Tensor];
    expect(x.toArray()).toEqual([2, 4, 6]);
    expect(tokens.toArray()).toEqual([2, -2]);
    expect(y.shape).toEqual([]);
    expect(y.item()).toBe(1);
    expect(() => mixed(4).get(4)).toThrow('TensorDataset.get: index 4 is outside [0, 4)');
  });

  it('refuses tensors of different lengths, naming both', () => {
    const error = (() => {
      try {
        new TensorDataset(arange(10).reshape([5, 2]), arange(4));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toBe(
      'TensorDataset: tensor 0 [5, 2] holds 5 samples but tensor 1 [4] holds 4; every tensor needs the same first axis',
    );
    expect(() => new TensorDataset(tensor(3))).toThrow(/scalar/);
  });
});

describe('DataLoader over any Dataset', () => {
  const squares: Dataset<Tensor[]> = {
    length: 7,
    get: (i) => [tensor([i, i + 0.5]), tensor(i * i, { dtype: 'int32' })],
  };

  it('stacks the samples of get(i) into batch tensors', () => {
    const got = [...new DataLoader(squares, { batchSize: 3, reuse: false }).epoch(0)];
    expect(got.map((b) => b[0]!.shape)).toEqual([
      [3, 2],
      [3, 2],
      [1, 2],
    ]);
    expect(got[1]![0]!.toArray()).toEqual([
      [3, 3.5],
      [4, 4.5],
      [5, 5.5],
    ]);
    expect(got[2]![1]!.toArray()).toEqual([36]);
  });

  it('hands the samples to collate when given', () => {
    const loader = new DataLoader(squares, {
      batchSize: 4,
      collate: (samples: Tensor[][]) => samples.map(([, s]) => s!.item()),
    });
    expect([...loader.epoch(0)]).toEqual([
      [0, 1, 4, 9],
      [16, 25, 36],
    ]);
  });

  it('refuses samples that do not stack, naming the sample and both shapes', () => {
    const ragged: Dataset<Tensor> = { length: 3, get: (i) => tensor(i === 2 ? [1, 2, 3] : [1, 2]) };
    expect(() => [...new DataLoader(ragged, { batchSize: 3 }).epoch(0)]).toThrow(
      "DataLoader: tensor 0 of sample 2 is float32 [3], but the first sample's is float32 [2]",
    );
    const numbers: Dataset<number> = { length: 2, get: (i) => i };
    expect(() => [...new DataLoader(numbers, { batchSize: 2 }).epoch(0)]).toThrow(
      /sample 0 is a number; the default batching stacks a Tensor/,
    );
  });

  it('the same seed gives the same batches', () => {
    const run = (seed: number) =>
      [...new DataLoader(mixed(40), { batchSize: 8, shuffle: true, seed }).epoch(2)].map((b) =>
        Array.from(b[2]!.data),
      );
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

describe('the uint8 image path', () => {
  it('refuses float pixels instead of turning them into NaN', () => {
    const floats = new Float32Array(8).fill(0.5);
    const labels = new Int32Array(2);
    expect(() => new MnistSplit(floats as unknown as Uint8Array, labels, 2, 2)).toThrow(
      'MnistSplit: pixels is a Float32Array, but images are read as bytes 0-255 (a Uint8Array); for float features use new TensorDataset(features, labels)',
    );
    const source = { pixels: floats as unknown as Uint8Array, labels: tensor(labels), count: 2 };
    expect(() => new DataLoader(source, { batchSize: 1 })).toThrow(DataError);
    expect(() => new DataLoader(source, { batchSize: 1 })).toThrow(
      /pixels is a Float32Array, but the image path reads bytes 0-255/,
    );
  });

  it('gives images as [B, 1, rows, cols] with imageLayout nchw', () => {
    const pixels = Uint8Array.from({ length: 3 * 6 }, (_, k) => k);
    const split = new MnistSplit(pixels, new Int32Array([7, 8, 9]), 2, 3);
    const [flat] = [...new DataLoader(split, { batchSize: 2, reuse: false }).epoch(0)];
    const [nchw] = [
      ...new DataLoader(split, { batchSize: 2, imageLayout: 'nchw', reuse: false }).epoch(0),
    ];
    expect(flat![0]!.shape).toEqual([2, 6]);
    expect(nchw![0]!.shape).toEqual([2, 1, 2, 3]);
    expect(Array.from(nchw![0]!.data)).toEqual(Array.from(flat![0]!.data));
    expect(Array.from(nchw![1]!.data)).toEqual([7, 8]);
    expect(() => new DataLoader(mixed(3), { batchSize: 1, imageLayout: 'nchw' })).toThrow(
      /imageLayout 'nchw' needs an image dataset/,
    );
  });

  it('get(i) gives the image scaled to [0, 1] and the label', () => {
    const split = new MnistSplit(Uint8Array.from([0, 255, 51, 102]), new Int32Array([4]), 2, 2);
    const [image, label] = split.get(0) as [Tensor, Tensor];
    expect(Array.from(image.data)).toEqual([0, 1, 0.2, 0.4].map(Math.fround));
    expect(label.item()).toBe(4);
  });
});

describe('randomSplit and Subset', () => {
  it('splits by fractions or counts into disjoint subsets covering the dataset', () => {
    const data = mixed(10);
    const parts = randomSplit(data, [0.5, 0.3, 0.2], { seed: 3 });
    expect(parts.map((p) => p.length)).toEqual([5, 3, 2]);
    const all = parts.flatMap((p) => Array.from(p.indices)).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const expected = new Rng(3).shuffle(Int32Array.from({ length: 10 }, (_, i) => i));
    expect(Array.from(parts[0]!.indices)).toEqual(Array.from(expected.subarray(0, 5)));
    expect(randomSplit(data, [7, 3]).map((p) => p.length)).toEqual([7, 3]);
    // Rounding down leaves samples over: they go to the first subsets.
    expect(randomSplit(mixed(11), [0.5, 0.5]).map((p) => p.length)).toEqual([6, 5]);
    expect(() => randomSplit(data, [0.5, 0.6])).toThrow(/sum to 1.1/);
  });

  it('a subset batches its own samples through the fast path', () => {
    const data = mixed(10);
    const sub = new Subset(data, [9, 2, 4]);
    const [batch] = [...new DataLoader(sub, { batchSize: 3 }).epoch(0)];
    expect(Array.from(batch![2]!.data)).toEqual([4.5, 1, 2]);
    expect(sub.get(0)[2]!.item()).toBe(4.5);
    expect(() => new Subset(data, [10])).toThrow('Subset: index 10 is outside [0, 10)');
  });
});
