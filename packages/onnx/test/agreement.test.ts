import { Rng, rand, type Tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { toOnnx } from '../src/index.js';
import { cnn, mlp, scaled } from './agreement-models.js';
import { runOnnx, scaledDifference } from './ort.js';

// At the scale of trained logits (tens to hundreds; agreement-models.ts scales the weights up), where neurite's kernels fuse multiply-adds
// (relaxed SIMD: Node 22+, current browsers) and onnxruntime-web's do not, the two float32
// results differ in their last bits by more than 1e-5 in absolute terms, and each is as close to
// the exact (float64) value as the other: the difference is float32 rounding, not the export.
// Agreement is therefore measured relative to the outputs' scale, max(1, max|y|).
// `node --import tsx scripts/agreement.ts` prints the same comparison for more scales and seeds.

const max = (t: ArrayLike<number>) => Array.from(t).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('agreement with onnxruntime-web at the scale of trained logits', () => {
  it.each([
    ['the 784-16-16-10 network (ReLU)', 16, mlp('relu'), [64, 784]],
    ['the 784-16-16-10 network (sigmoid)', 16, mlp('sigmoid'), [64, 784]],
    ['a CNN', 3, cnn, [16, 1, 28, 28]],
  ] as const)('%s, weights ×%i', async (_name, scale, spec, shape) => {
    const { model, exact } = scaled(spec, 2, scale);
    const x: Tensor = rand([...shape], { rng: new Rng(4) });
    const bytes = toOnnx(model, { inputShape: ['batch', ...spec.input] });
    const ort = (await runOnnx(bytes, { input: x })).output!.data;
    const ours = model.forward(x).data;
    const truth = exact.forward(x.cast('float64')).data;
    expect(max(truth)).toBeGreaterThan(10);
    expect(scaledDifference(ort, ours)).toBeLessThanOrEqual(1e-5);
    // Both are float32 evaluations of the same function, each within float32 rounding of it.
    expect(scaledDifference(ours, truth)).toBeLessThanOrEqual(1e-5);
    expect(scaledDifference(ort, truth)).toBeLessThanOrEqual(1e-5);
  });
});
