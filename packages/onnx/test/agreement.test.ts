import { buildModel, type ModelSpec } from '@neurite/nn';
import { Rng, rand, type Tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { toOnnx } from '../src/index.js';
import { runOnnx, scaledDifference } from './ort.js';

// Trained networks have logits in the tens or hundreds, not the ±1 of fresh weights; scaling the
// weights up gives such outputs. At that size, where neurite's kernels fuse multiply-adds
// (relaxed SIMD: Node 22+, current browsers) and onnxruntime-web's do not, the two float32
// results differ in their last bits by more than 1e-5 in absolute terms, and each is as close to
// the exact (float64) value as the other: the difference is float32 rounding, not the export.
// Agreement is therefore measured relative to the outputs' scale, max(1, max|y|).

const mlp = (activation: 'relu' | 'sigmoid'): ModelSpec => ({
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation },
    { type: 'dense', units: 16, activation },
    { type: 'dense', units: 10 },
  ],
});
const cnn: ModelSpec = {
  input: [1, 28, 28],
  layers: [
    { type: 'conv2d', outChannels: 8, kernelSize: 5, padding: 'same' },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'conv2d', outChannels: 16, kernelSize: 3, stride: 2, padding: 1 },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 32, activation: 'relu' },
    { type: 'dense', units: 10 },
  ],
};

/** The model of `spec` with its weights multiplied by `scale`, in float32 and in float64. */
function scaled(spec: ModelSpec, scale: number) {
  const model = buildModel(spec, { seed: 2 });
  const exact = buildModel(spec, { seed: 2, dtype: 'float64' });
  const state = Object.fromEntries(
    Object.entries(model.stateDict()).map(([k, t]) => [k, k.endsWith('weight') ? t.mul(scale) : t]),
  );
  model.loadStateDict(state);
  exact.loadStateDict(
    Object.fromEntries(
      Object.entries(state).map(([k, t]) => [k, t.dtype === 'float32' ? t.cast('float64') : t]),
    ),
  );
  return { model: model.eval(), exact: exact.eval() };
}

const max = (t: ArrayLike<number>) => Array.from(t).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('agreement with onnxruntime-web at the scale of trained logits', () => {
  it.each([
    ['the 784-16-16-10 network (ReLU)', 16, mlp('relu'), [64, 784]],
    ['the 784-16-16-10 network (sigmoid)', 16, mlp('sigmoid'), [64, 784]],
    ['a CNN', 3, cnn, [16, 1, 28, 28]],
  ] as const)('%s, weights ×%i', async (_name, scale, spec, shape) => {
    const { model, exact } = scaled(spec, scale);
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
