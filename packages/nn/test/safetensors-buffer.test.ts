import { Buffer } from 'node:buffer';
import { tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { fromSafetensors, toSafetensors } from '../src/index.js';

// Node's Buffer is a Uint8Array whose slice() is a view, not a copy: what
// `readFile` returns must read like any other byte array.
describe('safetensors from a Node Buffer', () => {
  it('reads the values, also when the Buffer sits at an offset in its memory', () => {
    const bytes = toSafetensors({
      w: tensor([1.5, -2, 3.25], { dtype: 'float32' }),
      b: tensor([7, -8], { dtype: 'int32' }),
    });
    const pool = Buffer.alloc(bytes.length + 13);
    const atOffset = pool.subarray(13);
    atOffset.set(bytes);
    for (const input of [Buffer.from(bytes), atOffset]) {
      const { tensors } = fromSafetensors(input);
      expect(Array.from(tensors.w!.data)).toEqual([1.5, -2, 3.25]);
      expect(Array.from(tensors.b!.data)).toEqual([7, -8]);
    }
  });
});
