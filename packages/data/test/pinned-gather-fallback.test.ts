import { afterAll, describe, expect, it } from 'vitest';

// Without SharedArrayBuffer (a page that is not cross-origin isolated) nothing
// can be pinned: a pinMemory loader gathers in JavaScript, with the same bits.
const saved = globalThis.SharedArrayBuffer;
// biome-ignore lint/suspicious/noExplicitAny: simulating a runtime without the global
delete (globalThis as any).SharedArrayBuffer;
const { DataLoader, MnistSplit, TensorDataset } = await import('../src/index.js');
const { isPinned, tensor } = await import('@neurite/tensor');
afterAll(() => {
  globalThis.SharedArrayBuffer = saved;
});

describe('pinMemory without SharedArrayBuffer', () => {
  it('gives pixel / 255 and the rows, unpinned', () => {
    const count = 100;
    const pixels = Uint8Array.from({ length: count * 49 }, (_, i) => (i * 97) % 256);
    const labels = Int32Array.from({ length: count }, (_, i) => i % 10);
    const split = new MnistSplit(pixels, labels, 7, 7);
    const loader = new DataLoader(split, {
      batchSize: 64,
      shuffle: true,
      seed: 1,
      pinMemory: true,
    });
    const order = loader.order(0);
    const [images, targets] = loader.epoch(0).next().value!;
    expect(images!.isPinned()).toBe(false);
    order.subarray(0, 64).forEach((sample, j) => {
      expect(targets!.data[j]).toBe(sample % 10);
      expect(Array.from(images!.data.subarray(j * 49, j * 49 + 49))).toEqual(
        Array.from(split.image(sample), (p) => Math.fround(p / 255)),
      );
    });
    expect(
      isPinned((split as unknown as { pinnedPixels: Uint8Array }).pinnedPixels ?? pixels),
    ).toBe(false);

    const x = tensor(
      Float32Array.from({ length: count * 20 }, (_, i) => i / 3),
      { shape: [count, 20] },
    );
    const [xb] = new DataLoader(new TensorDataset(x), { batchSize: 64, pinMemory: true })
      .epoch(0)
      .next().value!;
    expect(Array.from(xb!.data)).toEqual(Array.from(x.data.subarray(0, 64 * 20)));
  });
});
