import { expect, it } from 'vitest';
import { Rng, randn } from '../src/index.js';
import { arena, freePinned, pinnedArray, pointerOf } from '../src/kernels/memory.js';

// A file of its own: the blocks below are claimed from memory never used
// before, which is zero already, so filling 4 GiB with them touches none of it.
it('pins into plain memory, with the same values, once the kernels’ memory is full', () => {
  const values = randn([2 ** 23], { rng: new Rng(1) }); // 32 MiB
  // Untouched blocks of 512 MiB, then of 16 MiB, until one no longer fits (4 GiB at most).
  const blocks: Float32Array[] = [];
  try {
    for (const floats of [2 ** 27, 2 ** 22]) {
      for (let i = 0; i < 40; i++) {
        const block = pinnedArray('float32', floats);
        if (pointerOf(block) < 0) break;
        blocks.push(block);
      }
    }
    expect(arena()!.bytes).toBeGreaterThan(2 ** 31);
    const pinned = values.pinMemory();
    expect(pinned.isPinned()).toBe(false);
    expect(pinned.data === values.data).toBe(false); // a copy
    expect(Array.from(pinned.data.subarray(0, 1000))).toEqual(
      Array.from(values.data.subarray(0, 1000)),
    );
    expect(pinned.data[2 ** 23 - 1]).toBe(values.data[2 ** 23 - 1]);
  } finally {
    for (const block of blocks) freePinned(block);
  }
  expect(values.pinMemory().isPinned()).toBe(true);
});
