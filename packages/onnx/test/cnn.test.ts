import { fromBinary } from '@bufbuild/protobuf';
import { BatchNorm2d, Flatten, GELU, Linear, Module, ReLU, Sequential } from '@neurite/nn';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose2d,
  flip,
  maxPool2d,
  pad,
  Rng,
  randn,
  type Tensor,
} from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { ModelProtoSchema } from '../src/gen/onnx_pb.js';
import { type Dim, toOnnx } from '../src/index.js';
import { maxDifference, runOnnx } from './ort.js';

const rng = new Rng(5);

/** A convolution layer as a user writes one over the functional op. */
class Conv extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    inC: number,
    outC: number,
    k: number,
    readonly options: Parameters<typeof conv2d>[3] = {},
  ) {
    super();
    this.weight = randn([outC, inC / (options.groups ?? 1), k, k], { rng })
      .mul(0.3)
      .requireGrad();
    this.bias = randn([outC], { rng }).mul(0.1).requireGrad();
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}

class Pool extends Module {
  constructor(readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

/** Exports `fn` and checks onnxruntime-web's result against neurite's on each input. */
async function agree(fn: (x: Tensor) => Tensor, shape: Dim[], inputs: Tensor[]) {
  const bytes = toOnnx(fn, { inputShape: shape });
  for (const input of inputs) {
    const expected = fn(input);
    const { output } = await runOnnx(bytes, { input });
    expect(output!.dims).toEqual(expected.shape);
    expect(maxDifference(output!.data, expected.data)).toBeLessThanOrEqual(1e-5);
  }
  return bytes;
}

describe('convolutional networks in onnxruntime-web', () => {
  it('an MNIST CNN (conv, batch norm, ReLU, max pool, flatten, dense) at any batch size', async () => {
    const model = new Sequential(
      new Conv(1, 8, 5, { padding: 'same' }),
      new BatchNorm2d(8),
      new ReLU(),
      new Pool((x) => maxPool2d(x, 2)),
      new Conv(8, 16, 3, { stride: 2, padding: 1 }),
      new ReLU(),
      new Pool((x) => adaptiveAvgPool2d(x, 1)),
      new Flatten(),
      new Linear(16, 10, { rng: 3 }),
    );
    // Running statistics that are not the initial ones.
    model.forward(randn([6, 1, 28, 28], { rng }).mul(2).add(0.5));
    model.eval();
    const forward = (x: Tensor) => model.forward(x);
    const bytes = toOnnx(model, { inputShape: ['batch', 1, 28, 28] });
    for (const n of [1, 5]) {
      const input = randn([n, 1, 28, 28], { rng });
      const { output } = await runOnnx(bytes, { input });
      const expected = forward(input);
      expect(output!.dims).toEqual([n, 10]);
      expect(maxDifference(output!.data, expected.data)).toBeLessThanOrEqual(1e-5);
    }
    const ops = new Set(fromBinary(ModelProtoSchema, bytes).graph!.node.map((n) => n.opType));
    for (const op of ['Conv', 'MaxPool', 'GlobalAveragePool', 'Gemm', 'Relu'])
      expect(ops).toContain(op);
  });

  it('convolutions with stride, dilation, groups, asymmetric same padding, 1-D', async () => {
    const x = randn([2, 4, 9, 8], { rng });
    const w = randn([6, 2, 3, 2], { rng });
    await agree(
      (t) => conv2d(t, w, null, { stride: [2, 1], dilation: [1, 2], groups: 2, padding: 1 }),
      ['n', 4, 9, 8],
      [x],
    );
    const even = randn([3, 4, 4, 4], { rng });
    await agree((t) => conv2d(t, even, null, { padding: 'same' }), [2, 4, 9, 8], [x]);
    await agree((t) => conv2d(t, even, null, { stride: 3 }), [2, 4, 9, 8], [x]);
    const w1 = randn([5, 3, 3], { rng });
    await agree(
      (t) => conv1d(t, w1, null, { padding: 2, stride: 2 }),
      [2, 3, 11],
      [randn([2, 3, 11], { rng })],
    );
  });

  it('transposed convolutions', async () => {
    const u = randn([2, 4, 5, 5], { rng });
    const w = randn([4, 3, 3, 3], { rng });
    const b = randn([3], { rng });
    await agree((t) => convTranspose2d(t, w, b, { stride: 2, padding: 1 }), [2, 4, 5, 5], [u]);
    await agree(
      (t) => convTranspose2d(t, w, null, { stride: 2, padding: 1, outputPadding: 1 }),
      ['n', 4, 5, 5],
      [u],
    );
  });

  it('pooling with padding, strides and adaptive bins', async () => {
    const x = randn([2, 3, 7, 9], { rng });
    const shape: Dim[] = ['n', 3, 7, 9];
    await agree((t) => maxPool2d(t, 3, { stride: 2, padding: 1 }), shape, [x]);
    await agree((t) => maxPool2d(t, [2, 3], { dilation: 2 }), shape, [x]);
    await agree((t) => maxPool2d(t, 2, { ceilMode: true }), shape, [x]);
    await agree((t) => avgPool2d(t, 2, { ceilMode: true, divisorOverride: 3 }), shape, [x]);
    await agree((t) => avgPool2d(t, 3, { stride: 2, padding: 1 }), shape, [x]);
    await agree((t) => avgPool2d(t, 3, { padding: 1, countIncludePad: false }), shape, [x]);
    await agree((t) => adaptiveAvgPool2d(t, [3, 4]), shape, [x]);
    await agree((t) => adaptiveAvgPool2d(t, 1), shape, [x]);
  });

  it('pad (constant with a value, reflect), flip and strided slices', async () => {
    const x = randn([2, 3, 5, 6], { rng });
    const shape: Dim[] = ['n', 3, 5, 6];
    await agree((t) => pad(t, [1, 2, 0, 3], { value: 0.5 }), shape, [x]);
    await agree((t) => pad(t, [2, 1, 1, 2], { mode: 'reflect' }), shape, [x]);
    await agree((t) => flip(t, [1, 3]), shape, [x]);
    await agree((t) => t.slice([0, 0, 1, 0], [undefined, undefined, 5, 6], [1, 2, 2, 3]), shape, [
      x,
    ]);
  });

  it('GELU (erf)', async () => {
    const model = new Sequential(new Linear(4, 6, { rng: 1 }), new GELU());
    const bytes = toOnnx(model, { inputShape: ['n', 4] });
    const input = randn([3, 4], { rng });
    const { output } = await runOnnx(bytes, { input });
    expect(maxDifference(output!.data, model.forward(input).data)).toBeLessThanOrEqual(1e-5);
  });
});
