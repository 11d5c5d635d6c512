import { Rng } from '@neurite/tensor';
import { encodeIdx, type MnistIdxFiles } from '../src/index.js';

/** A small dataset in MNIST's IDX layout: images whose pixels encode (index, position), labels index mod 10. */
export function makeIdxFiles(
  trainCount: number,
  testCount: number,
  { gzip = false, rows = 28, cols = 28, seed = 1 } = {},
): MnistIdxFiles & {
  trainPixels: Uint8Array;
  testPixels: Uint8Array;
  trainClasses: Uint8Array;
  testClasses: Uint8Array;
} {
  const rng = new Rng(seed);
  const make = (count: number) => {
    const pixels = new Uint8Array(count * rows * cols).map(() => rng.int(256));
    const classes = new Uint8Array(count).map(() => rng.int(10));
    return { pixels, classes };
  };
  const train = make(trainCount);
  const test = make(testCount);
  return {
    trainImages: encodeIdx({ dims: [trainCount, rows, cols], data: train.pixels }, { gzip }),
    trainLabels: encodeIdx({ dims: [trainCount], data: train.classes }, { gzip }),
    testImages: encodeIdx({ dims: [testCount, rows, cols], data: test.pixels }, { gzip }),
    testLabels: encodeIdx({ dims: [testCount], data: test.classes }, { gzip }),
    trainPixels: train.pixels,
    testPixels: test.pixels,
    trainClasses: train.classes,
    testClasses: test.classes,
  };
}

/** Counts of each label 0-9. */
export function histogram(labels: ArrayLike<number>, classes = 10): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]!]! += 1;
  return counts;
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
