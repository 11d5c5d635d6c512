import { buildModel } from '@neurite/nn';
import { Rng, rand, randn } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
// The kernels' own switch, not public API: it picks the binary of the kernels compiled from now
// on, so it is thrown here, before this file's first product (each test file runs in a fresh
// module graph).
import { relaxedSimd, setRelaxedAllowed } from '../../tensor/src/kernels/relaxed.js';
import { toOnnx } from '../src/index.js';
import { maxDifference, runOnnx } from './ort.js';

setRelaxedAllowed(false);

// Both sum each block of 256 inputs in order and then the blocks in order, rounding every
// multiply-add twice, so a dense layer of 784 inputs (three blocks) gives the same bits. Where the
// engine has relaxed SIMD (Node 22+), neurite's kernels fuse their multiply-adds by default;
// switched off, they give onnxruntime-web's bits there too: the fused rounding is the only
// difference (agreement.test.ts measures it). (Below 128 rows onnxruntime-web takes another
// path whose last bits differ, by about 6e-8 here.)
describe('with relaxed SIMD off, summation order', () => {
  it('is switched off', () => {
    expect(relaxedSimd()).toBe(false);
  });

  it.each([1, 16])(
    'of a 784-input network (weights ×%i) is ONNX Runtime’s: the same bits',
    async (scale) => {
      const model = buildModel(
        {
          input: [784],
          layers: [
            { type: 'dense', units: 16, activation: 'relu' },
            { type: 'dense', units: 16, activation: 'relu' },
            { type: 'dense', units: 10 },
          ],
        },
        { seed: 5 },
      );
      model.loadStateDict(
        Object.fromEntries(Object.entries(model.stateDict()).map(([k, t]) => [k, t.mul(scale)])),
      );
      const bytes = toOnnx(model, { inputShape: ['batch', 784] });
      for (const x of [randn([300, 784], { rng: new Rng(8) }), rand([128, 784], { rng: 9 })]) {
        const { output } = await runOnnx(bytes, { input: x });
        expect(maxDifference(output!.data, model.forward(x).data)).toBe(0);
      }
    },
  );
});
