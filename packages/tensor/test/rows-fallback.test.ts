import { afterAll, describe, expect, it } from 'vitest';

// A page without cross-origin isolation has no SharedArrayBuffer, so nothing
// can be pinned: gatherRows runs its JavaScript, with the same result.
const saved = globalThis.SharedArrayBuffer;
// biome-ignore lint/suspicious/noExplicitAny: simulating a runtime without the global
delete (globalThis as any).SharedArrayBuffer;
const { allocate, gatherRows, isPinned, pinArray } = await import('../src/index.js');
afterAll(() => {
  globalThis.SharedArrayBuffer = saved;
});

describe('gatherRows without SharedArrayBuffer', () => {
  it('pinArray hands back the array itself, unpinned', () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i);
    const pinned = pinArray(bytes);
    expect(pinned).toBe(bytes);
    expect(isPinned(pinned)).toBe(false);
    expect(isPinned(allocate('float32', 16, { pinMemory: true }))).toBe(false);
    const pinnedBytes = allocate('uint8', 16, { pinMemory: true });
    expect(pinnedBytes).toBeInstanceOf(Uint8Array);
    expect(isPinned(pinnedBytes)).toBe(false);
  });

  it('scales every byte value as b / 255 rounded to float32, and copies rows', () => {
    const bytes = pinArray(Uint8Array.from({ length: 256 * 8 }, (_, i) => i >> 3));
    const order = Int32Array.from({ length: 256 }, (_, i) => (i * 37) % 256);
    const out = allocate('float32', 256 * 8, { pinMemory: true }) as Float32Array;
    gatherRows(bytes, 8, order, out);
    for (let j = 0; j < 256; j++) {
      for (let k = 0; k < 8; k++) expect(out[j * 8 + k]).toBe(Math.fround(order[j]! / 255));
    }
    const floats = pinArray(Float64Array.from({ length: 40 * 30 }, (_, i) => i / 7));
    const rows = new Float64Array(3 * 30);
    gatherRows(floats, 30, [39, 0, 5], rows);
    expect(Array.from(rows)).toEqual([
      ...floats.subarray(39 * 30, 40 * 30),
      ...floats.subarray(0, 30),
      ...floats.subarray(150, 180),
    ]);
  });
});
