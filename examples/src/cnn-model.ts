import type { ModelSpec } from '@neurite/nn';

/**
 * A convolutional network for 28×28 grey images, declared as data: two
 * blocks of 3×3 convolution → batch norm → ReLU → 2×2 max pooling (32 then
 * 64 channels), dropout, and a dense layer to 10 classes: 34,922 parameters,
 * the Keras example's convnet with batch norm added. Edit it here: the
 * training script, the checkpoint and `summary()` follow.
 */
export const cnnSpec: ModelSpec = {
  name: 'mnist-cnn',
  input: [1, 28, 28],
  layers: [
    { type: 'conv2d', outChannels: 32, kernelSize: 3, bias: false },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'conv2d', outChannels: 64, kernelSize: 3, bias: false },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 10 },
  ],
};
