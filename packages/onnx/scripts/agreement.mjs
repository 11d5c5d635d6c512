#!/usr/bin/env node
// How far onnxruntime-web's outputs are from neurite's on the 784-16-16-10 network and a CNN,
// with fresh weights (outputs near ±1) and with weights scaled up to give the logits of trained
// networks (tens to hundreds), and how far each is from the float64 value. Prints one table.
//
//   pnpm --filter @neurite/onnx build && node packages/onnx/scripts/agreement.mjs [--no-relaxed]
//
// --no-relaxed switches relaxed SIMD off before the first kernel is built (through the
// kernels' own switch, not public API), so an engine that has it (Node 22+) sums as one
// without it does.

import { buildModel } from '@neurite/nn';
import { toOnnx } from '@neurite/onnx';
import { Rng, rand } from '@neurite/tensor';
import * as ort from 'onnxruntime-web';

const relaxed = await import('../../tensor/dist/kernels/relaxed.js');
if (process.argv.includes('--no-relaxed')) relaxed.setRelaxedAllowed(false);
ort.env.wasm.numThreads = 1;

async function runOnnx(bytes, x) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', x.data.slice(), x.shape.slice());
    return Object.values(await session.run({ input }))[0].data;
  } finally {
    await session.release();
  }
}

const e = (v) => v.toExponential(2);
function compare(ortOut, ours, exact) {
  let diff = 0;
  let scale = 0;
  let ortErr = 0;
  let ourErr = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ortOut[i] - ours[i]));
    scale = Math.max(scale, Math.abs(ours[i]));
    ortErr = Math.max(ortErr, Math.abs(ortOut[i] - exact[i]));
    ourErr = Math.max(ourErr, Math.abs(ours[i] - exact[i]));
  }
  return {
    'max |y|': scale.toFixed(2),
    'max |ort − neurite|': e(diff),
    'relative to max |y|': e(diff / Math.max(1, scale)),
    'ort − float64': e(ortErr),
    'neurite − float64': e(ourErr),
  };
}

/** The model of `spec` with its weights times `scale`, in float32 and float64, in eval mode. */
function scaled(spec, seed, scale) {
  const model = buildModel(spec, { seed });
  const exact = buildModel(spec, { seed, dtype: 'float64' });
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

const mlp = (activation) => ({
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation },
    { type: 'dense', units: 16, activation },
    { type: 'dense', units: 10 },
  ],
});
const cnn = {
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
const cases = [
  ...['relu', 'sigmoid'].flatMap((a) =>
    [1, 4, 16].map((s) => [`784-16-16-10 ${a}, weights ×${s}`, mlp(a), s, [300, 784]]),
  ),
  ...[1, 3].map((s) => [`CNN, weights ×${s}`, cnn, s, [64, 1, 28, 28]]),
];

const rows = {};
for (const [name, spec, scale, shape] of cases) {
  for (const seed of [1, 2]) {
    const { model, exact } = scaled(spec, seed, scale);
    const x = rand(shape, { rng: new Rng(seed + 10) });
    const ortOut = await runOnnx(toOnnx(model, { inputShape: ['batch', ...spec.input] }), x);
    rows[`${name}, seed ${seed}`] = compare(
      ortOut,
      model.forward(x).data,
      exact.forward(x.cast('float64')).data,
    );
  }
}
console.log(`Node ${process.version}, relaxed SIMD ${relaxed.relaxedSimd() ? 'on' : 'off'}`);
console.table(rows);
