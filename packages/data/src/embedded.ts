import { DataError } from './errors.js';
import { parseIdx } from './idx.js';
import { type Mnist, MnistSplit } from './mnist.js';

/** What `@neurite/mnist-embedded` provides: its digits as gzipped IDX bytes. */
export interface EmbeddedMnistSource {
  embeddedDigits(): {
    readonly images: Uint8Array;
    readonly labels: Uint8Array;
    readonly trainCount: number;
  };
}

const PACKAGE = '@neurite/mnist-embedded';

/**
 * The 10,000 MNIST digits of the package `@neurite/mnist-embedded` (no
 * network, works offline), split into 8,000 training and 2,000 test digits.
 * The split is fixed, the same on every machine and in every browser:
 * stratified by class (each class gives 20% of its digits to the test split,
 * to within one digit) and shuffled by a fixed seed, so neither split is
 * sorted by class (the package's README gives the rule).
 *
 * The digits are a package of their own so that installing `@neurite/data`
 * stays small: install `@neurite/mnist-embedded` beside it. In Node it is
 * found by itself; in a browser bundle pass the module, which the bundler
 * then loads as a separate chunk only when this runs.
 *
 * @example
 * const { train, test } = await loadEmbeddedMnist(); // Node
 * const mnist = await loadEmbeddedMnist(await import('@neurite/mnist-embedded')); // a bundle
 * train.count; // 8000
 * test.count;  // 2000
 */
export async function loadEmbeddedMnist(source?: EmbeddedMnistSource): Promise<Mnist> {
  let from = source;
  if (!from) {
    // A specifier bundlers leave alone: the package is optional, and a bundle passes it in.
    const id = PACKAGE;
    try {
      from = (await import(/* @vite-ignore */ id)) as EmbeddedMnistSource;
    } catch (e) {
      throw new DataError(
        `loadEmbeddedMnist: the embedded digits are in the package ${PACKAGE}, which could not be loaded (${(e as Error).message}); install it beside @neurite/data, and in a browser bundle import it and pass the module to loadEmbeddedMnist`,
      );
    }
  }
  const { images, labels, trainCount } = from.embeddedDigits();
  const pixels = parseIdx(images, `${PACKAGE} images`);
  const classes = parseIdx(labels, `${PACKAGE} labels`);
  const [count, rows, cols] = pixels.dims;
  if (pixels.dims.length !== 3 || classes.dims.join() !== `${count}`) {
    throw new DataError(
      `loadEmbeddedMnist: ${PACKAGE} holds images [${pixels.dims.join(', ')}] and labels [${classes.dims.join(', ')}], not [n, rows, cols] and [n]`,
    );
  }
  const size = rows! * cols!;
  const bytes = pixels.data as Uint8Array;
  const split = (begin: number, end: number) =>
    new MnistSplit(
      bytes.subarray(begin * size, end * size),
      Int32Array.from(classes.data.subarray(begin, end)),
      rows,
      cols,
    );
  return { train: split(0, trainCount), test: split(trainCount, count!) };
}
