import type { EmbeddedDigits as Digits } from '@neurite/mnist-embedded';

/**
 * The file the page's training fetches: the digits of
 * `@neurite/mnist-embedded` as plain bytes, written into the built site by
 * the Vite config. As bytes (1.6 MB of gzipped IDX) they are a quarter
 * smaller than the package's base64 JavaScript module, and no script has to
 * be parsed to read them.
 */
export const DIGITS_FILE = 'mnist-digits.bin';

/** 'NMD1': the file's first four bytes. */
const MAGIC = 0x31444d4e;
const HEADER = 16;

/**
 * Lays out the digits as one file: magic, training count, the images' and
 * the labels' byte lengths (u32, little-endian), then the images, the labels.
 */
export function packDigits({ images, labels, trainCount }: Digits): Uint8Array {
  const out = new Uint8Array(HEADER + images.length + labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, trainCount, true);
  view.setUint32(8, images.length, true);
  view.setUint32(12, labels.length, true);
  out.set(images, HEADER);
  out.set(labels, HEADER + images.length);
  return out;
}

/** Reads `packDigits`'s layout back; a file of any other shape is refused, saying how. */
export function unpackDigits(bytes: Uint8Array): Digits {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER || view.getUint32(0, true) !== MAGIC) {
    throw new Error(
      `${DIGITS_FILE}: not the page's digit file (${bytes.length} bytes, no 'NMD1' at byte 0)`,
    );
  }
  const imagesLength = view.getUint32(8, true);
  const labelsLength = view.getUint32(12, true);
  if (HEADER + imagesLength + labelsLength !== bytes.length) {
    throw new Error(
      `${DIGITS_FILE}: the header gives ${imagesLength} + ${labelsLength} bytes of digits after byte ${HEADER}, the file has ${bytes.length} bytes`,
    );
  }
  return {
    trainCount: view.getUint32(4, true),
    images: bytes.subarray(HEADER, HEADER + imagesLength),
    labels: bytes.subarray(HEADER + imagesLength),
  };
}
