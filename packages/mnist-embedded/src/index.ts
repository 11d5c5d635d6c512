/**
 * @neurite/mnist-embedded: 10,000 MNIST digits inside the package (1.6 MB of
 * gzipped IDX), for training without a download, offline and in a browser.
 * `loadEmbeddedMnist` of `@neurite/data` reads them and splits them 8,000
 * training / 2,000 test digits, stratified by class, in a fixed shuffled order.
 *
 * @example
 * import { loadEmbeddedMnist } from '@neurite/data';
 * const { train, test } = await loadEmbeddedMnist(await import('@neurite/mnist-embedded'));
 */
import { images, labels } from './digits.js';

/** The digits as gzipped IDX files: the 8,000 training digits first, then the 2,000 test digits. */
export interface EmbeddedDigits {
  /** IDX unsigned bytes [10000, 28, 28], gzipped. */
  readonly images: Uint8Array;
  /** IDX unsigned bytes [10000], gzipped: each digit's class. */
  readonly labels: Uint8Array;
  /** How many of the digits, from the first, form the training split. */
  readonly trainCount: number;
}

const decode = (base64: string): Uint8Array =>
  Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

/**
 * The embedded digits' bytes (decoded on each call; keep the result).
 *
 * @example
 * const { images, labels } = embeddedDigits(); // parseIdx(images).dims: [10000, 28, 28]
 */
export function embeddedDigits(): EmbeddedDigits {
  return { images: decode(images), labels: decode(labels), trainCount: 8000 };
}
