import { afterEach, describe, expect, it, vi } from 'vitest';
import { kernelOutput, poisonOutputs } from '../src/dtype.js';
import { matmul, Rng, randn, tensor } from '../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  poisonOutputs(false);
});

describe('kernel outputs', () => {
  it('a result of 1 MiB or more is not zero-filled before its kernel writes all of it (Node)', () => {
    const unfilled = vi.spyOn(Buffer, 'allocUnsafeSlow');
    const rng = new Rng(1);
    const a = randn([512, 8], { rng });
    const b = randn([8, 512], { rng });
    const big = matmul(a, b); // 512 × 512 floats: 1 MiB
    expect(unfilled).toHaveBeenCalledWith(512 * 512 * 4);
    const small = matmul(a.narrow(0, 0, 4), b);
    expect(unfilled).toHaveBeenCalledTimes(1);
    expect(Array.from(big.narrow(0, 0, 4).data)).toEqual(Array.from(small.data));
    const row = big.narrow(0, 511, 1).data;
    const want = matmul(a.narrow(0, 511, 1), b).data;
    expect(Array.from(row)).toEqual(Array.from(want));
  });

  it('gives arrays of the dtype and length asked for; poisoned for tests, NaN everywhere', () => {
    poisonOutputs(true);
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      const out = kernelOutput(dtype, 1 << 18);
      expect(out.length).toBe(1 << 18);
      expect(out.byteOffset).toBe(0);
      expect(out.constructor.name).toBe(
        { float32: 'Float32Array', float64: 'Float64Array', int32: 'Int32Array' }[dtype],
      );
      if (dtype === 'int32') expect(out.every((v) => v === 2143289344)).toBe(true);
      else expect(out.every(Number.isNaN)).toBe(true);
    }
  });

  it('without Node’s Buffer (a browser), a large output is a zero-filled array', () => {
    vi.stubGlobal('Buffer', undefined);
    poisonOutputs(true);
    const out = kernelOutput('float32', 1 << 20);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(1 << 20);
    expect(out.every((v) => v === 0)).toBe(true);
    expect(tensor([1, 2]).add(1).toArray()).toEqual([2, 3]);
  });
});
