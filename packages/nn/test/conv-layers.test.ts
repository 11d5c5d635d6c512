import { compile, randn, ShapeError, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdaptiveAvgPool2d,
  AvgPool2d,
  buildModel,
  Conv1d,
  Conv2d,
  checkpointBytes,
  crossEntropy,
  MaxPool2d,
  type ModelSpec,
  parseSpec,
  restoreCheckpoint,
  SpecError,
  summary,
} from '../src/index.js';

const issuesOf = (value: unknown): readonly string[] => {
  try {
    parseSpec(value);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return (e as SpecError).issues;
  }
  throw new Error('expected a SpecError');
};

describe('Conv2d and Conv1d', () => {
  it("have PyTorch's layouts and default init: weight and bias in ±1/√fanIn, seeded", () => {
    const conv = new Conv2d(6, 8, [3, 5], { groups: 2, rng: 4 });
    expect(conv.weight.shape).toEqual([8, 3, 3, 5]);
    expect(conv.bias!.shape).toEqual([8]);
    const bound = 1 / Math.sqrt(3 * 3 * 5);
    const w = Array.from(conv.weight.data);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect(Math.max(...Array.from(conv.bias!.data, Math.abs))).toBeLessThanOrEqual(bound);
    expect(Array.from(new Conv2d(6, 8, [3, 5], { groups: 2, rng: 4 }).weight.data)).toEqual(w);
    expect(new Conv1d(4, 2, 3, { bias: false, rng: 1 }).bias).toBeNull();
    expect(Object.keys(new Conv1d(4, 2, 3, { rng: 1 }).stateDict())).toEqual(['weight', 'bias']);
  });

  it('compute the convolution the tensor op defines, with the options they were given', () => {
    const conv = new Conv2d(2, 3, 3, { stride: 2, padding: 'valid', rng: 1 });
    const x = randn([2, 2, 9, 9], { rng: 2 });
    const y = conv.forward(x);
    expect(y.shape).toEqual([2, 3, 4, 4]);
    // One output by hand: channel 1 at (1, 2) = b + Σ w·x over the window at rows 2…4, cols 4…6.
    let want = conv.bias!.data[1]!;
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 3; j++)
          want +=
            conv.weight.data[((1 * 2 + c) * 3 + i) * 3 + j]! *
            x.data[((0 * 2 + c) * 9 + 2 + i) * 9 + 4 + j]!;
    expect(y.data[((0 * 3 + 1) * 4 + 1) * 4 + 2]).toBeCloseTo(want, 5);
    const same = new Conv1d(3, 5, 4, { padding: 'same', rng: 1 });
    expect(same.forward(randn([2, 3, 11], { rng: 1 })).shape).toEqual([2, 5, 11]);
  });

  it('refuse bad arguments at construction and wrong inputs with the shapes', () => {
    expect(() => new Conv2d(6, 8, 3, { groups: 4 })).toThrow(
      'Conv2d: groups 4 must divide both inChannels 6 and outChannels 8',
    );
    expect(() => new Conv2d(1, 8, 3, { padding: 'same', stride: 2 })).toThrow(
      "Conv2d: padding 'same' needs stride 1, got [2, 2]",
    );
    expect(() => new Conv2d(1, 8, 0)).toThrow(/kernelSize must be positive integers/);
    expect(() => new Conv2d(3, 8, 3, { rng: 1 }).forward(randn([2, 1, 8, 8], { rng: 1 }))).toThrow(
      'Conv2d(3 → 8, 3×3): expected input [N, 3, H, W], got [2, 1, 8, 8]',
    );
    expect(() => new Conv1d(3, 8, 3, { rng: 1 }).forward(randn([2, 3], { rng: 1 }))).toThrow(
      ShapeError,
    );
  });
});

describe('pooling layers', () => {
  const x = tensor(
    Float32Array.from({ length: 32 }, (_, i) => i),
    { shape: [1, 2, 4, 4] },
  );
  it('MaxPool2d, AvgPool2d and AdaptiveAvgPool2d', () => {
    expect(Array.from(new MaxPool2d(2).forward(x).data)).toEqual([5, 7, 13, 15, 21, 23, 29, 31]);
    expect(Array.from(new AvgPool2d(2).forward(x).data)).toEqual([
      2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5,
    ]);
    expect(Array.from(new AdaptiveAvgPool2d(1).forward(x).data)).toEqual([7.5, 23.5]);
    expect(new MaxPool2d(3, { stride: 1, padding: 1 }).forward(x).shape).toEqual([1, 2, 4, 4]);
    expect(new MaxPool2d([2, 1]).toString()).toBe('MaxPool2d(2×1)');
  });
});

const cnn: ModelSpec = {
  name: 'small-cnn',
  input: [1, 28, 28],
  layers: [
    { type: 'conv2d', outChannels: 8, kernelSize: 5 },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'conv2d', outChannels: 16, kernelSize: 5 },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10 },
  ],
};

describe('convolutional specs', () => {
  it('infer shapes, build, and summarise every layer with its output shape and parameters', () => {
    const model = buildModel(cnn, { seed: 1 });
    expect(model.forward(randn([2, 1, 28, 28], { rng: 1 })).shape).toEqual([2, 10]);
    const rows = summary(model)
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => l.split(/\s{2,}/).slice(1));
    expect(rows).toEqual([
      ['Conv2d(1 → 8, 5×5)', '[N, 8, 24, 24]', '208'],
      ['BatchNorm2d(8)', '[N, 8, 24, 24]', '16'],
      ['ReLU', '[N, 8, 24, 24]', '0'],
      ['MaxPool2d(2)', '[N, 8, 12, 12]', '0'],
      ['Conv2d(8 → 16, 5×5)', '[N, 16, 8, 8]', '3,216'],
      ['ReLU', '[N, 16, 8, 8]', '0'],
      ['MaxPool2d(2)', '[N, 16, 4, 4]', '0'],
      ['Flatten', '[N, 256]', '0'],
      ['Dense(256 → 10)', '[N, 10]', '2,570'],
    ]);
  });

  it('refuse a kernel larger than its padded input, mismatched channels, dense without flatten', () => {
    const at = (layers: unknown[], input = [1, 28, 28]) => issuesOf({ input, layers });
    expect(
      at([
        { type: 'conv2d', outChannels: 4, kernelSize: 5, stride: 4 },
        { type: 'conv2d', outChannels: 4, kernelSize: 9, padding: 1 },
      ]),
    ).toEqual([
      'layers[1].kernelSize: kernel [9, 9] spans [9, 9], larger than the padded input [8, 8] (input [4, 6, 6], padding [1, 1])',
    ]);
    expect(at([{ type: 'conv2d', outChannels: 4, kernelSize: 3, inChannels: 3 }])).toEqual([
      'layers[0].inChannels: 3 does not match the 1 channels of the input [1, 28, 28]',
    ]);
    expect(at([{ type: 'conv2d', outChannels: 4, kernelSize: 3, groups: 2 }])).toEqual([
      'layers[0].groups: 2 does not divide the 1 channels of the input [1, 28, 28]',
    ]);
    expect(
      at([
        { type: 'conv2d', outChannels: 4, kernelSize: 3 },
        { type: 'dense', units: 10 },
      ]),
    ).toEqual([
      'layers[1]: dense takes samples of shape [features] (or [steps, features]) but gets [4, 26, 26]; add { "type": "flatten" } before it',
    ]);
    expect(at([{ type: 'conv2d', outChannels: 4, kernelSize: 3 }], [784])).toEqual([
      'layers[0]: conv2d takes samples of shape [C, H, W] but gets [784]; add { "type": "reshape", "shape": [1, 28, 28] } before it',
    ]);
    expect(at([{ type: 'maxPool2d', kernelSize: 2, padding: 2 }])).toEqual([
      'layers[0].padding: [2, 2] must be at most half of kernelSize [2, 2]',
    ]);
    expect(
      at([{ type: 'conv2d', outChannels: 4, kernelSize: 3, stride: 2, padding: 'same' }]),
    ).toEqual(["layers[0].padding: 'same' needs stride 1, got stride [2, 2]"]);
    expect(
      at([{ type: 'residual', layers: [{ type: 'conv2d', outChannels: 1, kernelSize: 3 }] }]),
    ).toEqual([
      "layers[0].layers: a residual block must keep its input's shape: input [1, 28, 28], block output [1, 26, 26]",
    ]);
    expect(at([{ type: 'conv2d', outChannels: 4, kernelSize: [3, 0] }])).toEqual([
      'layers[0].kernelSize[1]: expected a positive integer, got 0',
    ]);
  });

  it('convolutions pad with zeros or as paddingMode says, in layers and specs', () => {
    const x = randn([1, 1, 4, 4], { rng: 3 });
    const zeros = new Conv2d(1, 1, 3, { padding: 1, rng: 1 });
    const reflect = new Conv2d(1, 1, 3, { padding: 1, paddingMode: 'reflect', rng: 1 });
    expect(reflect.toString()).toBe('Conv2d(1 → 1, 3×3, padding=1×1, paddingMode=reflect)');
    expect(reflect.forward(x).shape).toEqual([1, 1, 4, 4]);
    expect(Array.from(reflect.forward(x).data)).not.toEqual(Array.from(zeros.forward(x).data));
    // The centre, away from every edge, sees no padding either way.
    expect(reflect.forward(x).data[5]).toBe(zeros.forward(x).data[5]);
    expect(() => new Conv1d(1, 1, 3, { paddingMode: 'mirror' as 'reflect' })).toThrow(
      "Conv1d: paddingMode must be one of zeros, reflect, replicate, circular, got 'mirror'",
    );
    const model = buildModel({
      input: [1, 4, 4],
      layers: [
        { type: 'conv2d', outChannels: 1, kernelSize: 3, padding: 1, paddingMode: 'reflect' },
      ],
    });
    expect(model.forward(x).shape).toEqual([1, 1, 4, 4]);
    expect(
      issuesOf({
        input: [1, 4, 4],
        layers: [
          { type: 'conv2d', outChannels: 1, kernelSize: 5, padding: 4, paddingMode: 'reflect' },
        ],
      }),
    ).toEqual([
      "layers[0].padding: reflect padding [4, 4] must be smaller than the input's spatial size [4, 4] (input [1, 4, 4])",
    ]);
  });

  it('a residual CNN block with padding same keeps the shape and builds', () => {
    const model = buildModel({
      input: [3, 8, 8],
      layers: [
        {
          type: 'residual',
          layers: [
            { type: 'conv2d', outChannels: 3, kernelSize: 3, padding: 'same' },
            { type: 'batchNorm' },
            { type: 'activation', activation: 'relu' },
          ],
        },
        { type: 'adaptiveAvgPool2d', outputSize: 1 },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    });
    expect(model.forward(randn([2, 3, 8, 8], { rng: 1 })).shape).toEqual([2, 2]);
    expect(Object.keys(model.stateDict())).toContain('0.1.running_var');
  });

  it('a spec-built CNN with batch norm resumes from a checkpoint bit-identically (compiled steps)', () => {
    const small: ModelSpec = {
      ...cnn,
      input: [1, 12, 12],
      layers: cnn.layers.slice(0, 4).concat([{ type: 'flatten' }, { type: 'dense', units: 3 }]),
    };
    const data = Array.from({ length: 4 }, (_, i) => ({
      x: randn([6, 1, 12, 12], { rng: 50 + i }),
      y: tensor(
        [0, 1, 2, 0, 1, 2].map((v) => (v + i) % 3),
        { dtype: 'int32' },
      ),
    }));
    const run = (model = buildModel(small, { seed: 2 })) => {
      const opt = new Adam(model.parameters(), { lr: 0.01 });
      const step = compile((x: Tensor, y: Tensor) => {
        opt.zeroGrad();
        const loss = crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss;
      });
      return { model, opt, step: (k: number) => step(data[k]!.x, data[k]!.y) };
    };
    const bits = (m: { stateDict(): Record<string, Tensor> }) =>
      Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data)]);
    const straight = run();
    for (let k = 0; k < 4; k++) straight.step(k);
    const first = run();
    for (let k = 0; k < 2; k++) first.step(k);
    const restored = restoreCheckpoint(checkpointBytes(first.model, { optimizer: first.opt }));
    const resumed = run(restored.model);
    resumed.opt.loadStateDict(restored.optimizer!);
    for (let k = 2; k < 4; k++) resumed.step(k);
    expect(bits(resumed.model)).toEqual(bits(straight.model));
    expect(resumed.model.stateDict()['1.num_batches_tracked']!.item()).toBe(4);
  });
});
