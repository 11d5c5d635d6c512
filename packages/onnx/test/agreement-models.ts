import { buildModel, type ModelSpec } from '@neurite/nn';

// The networks whose ONNX outputs are compared with neurite's, shared by the agreement test and
// scripts/agreement.ts so that the table the script prints is about the models the test checks.

/** The 784-16-16-10 network with `activation` on its hidden layers. */
export const mlp = (activation: 'relu' | 'sigmoid'): ModelSpec => ({
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation },
    { type: 'dense', units: 16, activation },
    { type: 'dense', units: 10 },
  ],
});

/** A CNN with batch norm, padding, a strided convolution and pooling. */
export const cnn: ModelSpec = {
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

/**
 * The model of `spec` with its weights multiplied by `scale`, in float32 and in float64, both in
 * evaluation mode. Trained networks have logits in the tens or hundreds, not the ±1 of fresh
 * weights; scaling the weights up gives such outputs.
 */
export function scaled(spec: ModelSpec, seed: number, scale: number) {
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
