import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { embeddedDigits } from '../src/index.js';

describe('the embedded digits', () => {
  const { images, labels, trainCount } = embeddedDigits();
  const pixels = gunzipSync(images);
  const classes = gunzipSync(labels);

  it('are IDX files of 10,000 28×28 unsigned-byte images and their labels', () => {
    expect(Array.from(pixels.subarray(0, 4))).toEqual([0, 0, 8, 3]);
    const view = new DataView(pixels.buffer, pixels.byteOffset);
    expect([view.getUint32(4), view.getUint32(8), view.getUint32(12)]).toEqual([10000, 28, 28]);
    expect(pixels.length).toBe(16 + 10000 * 784);
    expect(Array.from(classes.subarray(0, 4))).toEqual([0, 0, 8, 1]);
    expect(classes.length).toBe(8 + 10000);
    expect(trainCount).toBe(8000);
  });

  it('hold every class, with ink in every image', () => {
    const counts = new Array<number>(10).fill(0);
    for (const c of classes.subarray(8)) counts[c]! += 1;
    expect(counts.every((n) => n > 800)).toBe(true);
    for (let i = 0; i < 10000; i += 997) {
      const image = pixels.subarray(16 + i * 784, 16 + (i + 1) * 784);
      expect(Math.max(...image)).toBeGreaterThan(200);
    }
  });
});
