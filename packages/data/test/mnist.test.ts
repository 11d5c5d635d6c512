import { tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { DataError, encodeIdx, IdxError, MnistSplit, mnistFromIdx } from '../src/index.js';
import { makeIdxFiles } from './support.js';

describe('mnistFromIdx', () => {
  for (const gzip of [false, true]) {
    it(`builds both splits from the four IDX files (${gzip ? 'gzipped' : 'raw'})`, () => {
      const files = makeIdxFiles(30, 12, { gzip });
      const { train, test } = mnistFromIdx(files);
      expect([train.count, test.count]).toEqual([30, 12]);
      expect([train.rows, train.cols, train.features]).toEqual([28, 28, 784]);
      expect(Array.from(train.pixels)).toEqual(Array.from(files.trainPixels));
      expect(train.labels.dtype).toBe('int32');
      expect(train.labels.shape).toEqual([30]);
      expect(Array.from(train.labels.data)).toEqual(Array.from(files.trainClasses));
      expect(Array.from(test.labels.data)).toEqual(Array.from(files.testClasses));
      expect(test.label(5)).toBe(files.testClasses[5]);
      expect(Array.from(test.image(11))).toEqual(Array.from(files.testPixels.subarray(11 * 784)));
    });
  }

  it('keeps other image sizes (any dataset in the IDX layout)', () => {
    const { train } = mnistFromIdx(makeIdxFiles(4, 2, { rows: 5, cols: 3 }));
    expect([train.rows, train.cols, train.features]).toEqual([5, 3, 15]);
    expect(train.images.shape).toEqual([4, 15]);
  });

  it('makes images lazily: float32 [N, 784] = pixels / 255, cached', () => {
    const files = makeIdxFiles(6, 2);
    const { train } = mnistFromIdx(files);
    const images = train.images;
    expect(images.dtype).toBe('float32');
    expect(images.shape).toEqual([6, 784]);
    for (let i = 0; i < files.trainPixels.length; i++) {
      expect(images.data[i]).toBe(Math.fround(files.trainPixels[i]! / 255));
    }
    expect(train.images).toBe(images);
    expect(Math.max(...images.data)).toBeLessThanOrEqual(1);
  });

  it('names the file and the problem when the files do not fit together', () => {
    const files = makeIdxFiles(5, 3);
    const names = { trainLabels: 'a/train-labels', testImages: 'a/t10k-images' };
    expect(() =>
      mnistFromIdx(
        { ...files, trainLabels: encodeIdx({ dims: [4], data: new Uint8Array(4) }) },
        names,
      ),
    ).toThrow('a/train-labels: 4 labels, but trainImages holds 5 images');
    expect(() =>
      mnistFromIdx(
        { ...files, testImages: encodeIdx({ dims: [3, 784], data: new Uint8Array(3 * 784) }) },
        names,
      ),
    ).toThrow(
      'a/t10k-images: images must be a 3-D uint8 IDX array [count, rows, cols], got uint8 [3, 784]',
    );
    expect(() =>
      mnistFromIdx({
        ...files,
        testLabels: encodeIdx({ dims: [3], data: Float32Array.from([0, 1, 2]) }),
      }),
    ).toThrow('testLabels: labels must be a 1-D integer IDX array [count], got float32 [3]');
    expect(() =>
      mnistFromIdx({
        ...files,
        testLabels: encodeIdx({ dims: [3], data: Int8Array.from([0, -1, 2]) }),
      }),
    ).toThrow('testLabels: label 1 is -1');
    const small = makeIdxFiles(3, 3, { rows: 14, cols: 14 });
    expect(() => mnistFromIdx({ ...files, testImages: small.testImages })).toThrow(
      'testImages: 14×14 images, but trainImages has 28×28',
    );
    const bad = files.trainImages.slice();
    bad[2] = 0x07;
    expect(() =>
      mnistFromIdx({ ...files, trainImages: bad }, { trainImages: 'x/train-images' }),
    ).toThrow(IdxError);
  });
});

describe('MnistSplit', () => {
  it('checks its pieces agree', () => {
    expect(() => new MnistSplit(new Uint8Array(784 * 2), Int32Array.from([1, 2, 3]))).toThrow(
      'MnistSplit: 3 labels of 28×28 images need 2352 pixels, got 1568',
    );
    expect(() => new MnistSplit(new Uint8Array(784), tensor([1]))).toThrow(
      /1-D int32 tensor, got float32/,
    );
    const split = new MnistSplit(new Uint8Array(784 * 2), Int32Array.from([4, 2]));
    expect(() => split.image(2)).toThrow('MnistSplit.image: index 2 is outside [0, 2)');
    expect(split.label(1)).toBe(2);
  });

  it("takes an IDX label file's bytes as labels, and names what else it was given", () => {
    const split = new MnistSplit(new Uint8Array(4 * 2), Uint8Array.from([9, 255]), 2, 2);
    expect(split.labels.dtype).toBe('int32');
    expect(Array.from(split.labels.data)).toEqual([9, 255]);
    for (const [labels, kind] of [
      [Float32Array.from([1, 2]), 'Float32Array'],
      [[1, 2], 'Array'],
      [undefined, 'undefined'],
    ] as const) {
      const make = () => new MnistSplit(new Uint8Array(8), labels as unknown as Int32Array, 2, 2);
      expect(make).toThrow(DataError);
      expect(make).toThrow(`MnistSplit: labels is a ${kind}, but must be an int32 Tensor`);
    }
  });
});
