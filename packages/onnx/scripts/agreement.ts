// How far onnxruntime-web's outputs are from neurite's on the 784-16-16-10 network and a CNN,
// with fresh weights (outputs near ±1) and with weights scaled up to give the logits of trained
// networks (tens to hundreds), and how far each is from the float64 value. Prints one table.
//
//   pnpm build && node --import tsx packages/onnx/scripts/agreement.ts [--no-relaxed]
//
// --no-relaxed switches relaxed SIMD off before the first kernel is built (through the
// kernels' own switch, not public API), so an engine that has it (Node 22+) sums as one
// without it does. The models are the agreement test's (test/agreement-models.ts).

import { toOnnx } from '@neurite/onnx';
import { Rng, rand, type Tensor } from '@neurite/tensor';
import * as ort from 'onnxruntime-web';
import { cnn, mlp, scaled } from '../test/agreement-models.js';

const relaxed = await import('../../tensor/dist/kernels/relaxed.js');
if (process.argv.includes('--no-relaxed')) relaxed.setRelaxedAllowed(false);
ort.env.wasm.numThreads = 1;

async function runOnnx(bytes: Uint8Array, x: Tensor): Promise<ArrayLike<number>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const input = new ort.Tensor('float32', x.data.slice(), x.shape.slice());
    return Object.values(await session.run({ input }))[0]!.data as ArrayLike<number>;
  } finally {
    await session.release();
  }
}

const e = (v: number) => v.toExponential(2);
function compare(ortOut: ArrayLike<number>, ours: ArrayLike<number>, exact: ArrayLike<number>) {
  let diff = 0;
  let scale = 0;
  let ortErr = 0;
  let ourErr = 0;
  for (let i = 0; i < ours.length; i++) {
    diff = Math.max(diff, Math.abs(ortOut[i]! - ours[i]!));
    scale = Math.max(scale, Math.abs(ours[i]!));
    ortErr = Math.max(ortErr, Math.abs(ortOut[i]! - exact[i]!));
    ourErr = Math.max(ourErr, Math.abs(ours[i]! - exact[i]!));
  }
  return {
    'max |y|': scale.toFixed(2),
    'max |ort − neurite|': e(diff),
    'relative to max |y|': e(diff / Math.max(1, scale)),
    'ort − float64': e(ortErr),
    'neurite − float64': e(ourErr),
  };
}

const cases = [
  ...(['relu', 'sigmoid'] as const).flatMap((a) =>
    [1, 4, 16].map((s) => [`784-16-16-10 ${a}, weights ×${s}`, mlp(a), s, [300, 784]] as const),
  ),
  ...[1, 3].map((s) => [`CNN, weights ×${s}`, cnn, s, [64, 1, 28, 28]] as const),
];

const rows: Record<string, ReturnType<typeof compare>> = {};
for (const [name, spec, scale, shape] of cases) {
  for (const seed of [1, 2]) {
    const { model, exact } = scaled(spec, seed, scale);
    const x = rand([...shape], { rng: new Rng(seed + 10) });
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
