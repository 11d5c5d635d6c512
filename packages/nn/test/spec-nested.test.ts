import { randn, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm1d,
  buildModel,
  Embedding,
  elu,
  gelu,
  inferShapes,
  LayerNorm,
  type ModelSpec,
  parseSpec,
  Residual,
  Sequential,
  SpecError,
  softplus,
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

const resnet: ModelSpec = {
  name: 'tiny-resnet',
  input: [8],
  layers: [
    { type: 'dense', units: 16, activation: 'relu' },
    {
      type: 'residual',
      layers: [
        { type: 'dense', units: 16 },
        { type: 'batchNorm' },
        { type: 'activation', activation: 'gelu' },
      ],
    },
    { type: 'sequential', layers: [{ type: 'layerNorm' }, { type: 'dropout', rate: 0.1 }] },
    { type: 'dense', units: 3 },
  ],
};

describe('nested specs', () => {
  it('build Sequential and Residual blocks, named by index path as PyTorch', () => {
    const model = buildModel(resnet, { seed: 1 });
    expect(model.layers[1]).toBeInstanceOf(Residual);
    expect(model.layers[2]).toBeInstanceOf(Sequential);
    expect((model.layers[1] as Residual).layers[1]).toBeInstanceOf(BatchNorm1d);
    expect((model.layers[2] as Sequential).layers[0]).toBeInstanceOf(LayerNorm);
    expect(Object.keys(model.stateDict())).toEqual([
      '0.weight',
      '0.bias',
      '1.0.weight',
      '1.0.bias',
      '1.1.weight',
      '1.1.bias',
      '1.1.running_mean',
      '1.1.running_var',
      '1.1.num_batches_tracked',
      '2.0.weight',
      '2.0.bias',
      '3.weight',
      '3.bias',
    ]);
    expect(model.forward(randn([5, 8], { rng: 2 })).shape).toEqual([5, 3]);
    // Same seed, same weights, through nesting.
    const again = buildModel(resnet, { seed: 1 });
    expect(again.parameters().map((p) => Array.from(p.data))).toEqual(
      model.parameters().map((p) => Array.from(p.data)),
    );
  });

  it('a residual block adds its input: with a zero block the output is the input', () => {
    const model = buildModel({
      input: [4],
      layers: [{ type: 'residual', layers: [{ type: 'dense', units: 4 }] }],
    });
    for (const p of model.parameters()) p.data.fill(0);
    const x = randn([3, 4], { rng: 1 });
    expect(model.forward(x).data).toEqual(x.data);
    for (const p of model.parameters()) p.data.fill(0.5);
    const y = model.forward(x);
    const want = Array.from(x.data, (v, i) => {
      const row = Math.floor(i / 4);
      const s = [0, 1, 2, 3].reduce((a, j) => a + x.data[row * 4 + j]!, 0);
      return v + 0.5 * s + 0.5;
    });
    for (let i = 0; i < want.length; i++) expect(y.data[i]).toBeCloseTo(want[i]!, 5);
  });

  it('infer every output shape before building, through flatten, reshape and embedding', () => {
    const spec: ModelSpec = {
      input: [6],
      layers: [
        { type: 'embedding', numEmbeddings: 27, embeddingDim: 4 },
        { type: 'layerNorm' },
        { type: 'dense', units: 5, activation: 'silu' },
        { type: 'flatten' },
        { type: 'reshape', shape: [-1, 3] },
        { type: 'flatten', startDim: 1, endDim: 2 },
        { type: 'dense', units: 2 },
      ],
    };
    expect(inferShapes(spec).map((l) => l.output)).toEqual([
      [6, 4],
      [6, 4],
      [6, 5],
      [30],
      [10, 3],
      [30],
      [2],
    ]);
    const model = buildModel(spec, { seed: 3 });
    expect(model.layers[0]).toBeInstanceOf(Embedding);
    const tokens: Tensor = tensor([[1, 2, 3, 4, 5, 26]], { dtype: 'int32' });
    expect(model.forward(tokens).shape).toEqual([1, 2]);
  });
});

describe('shape errors name the layer path, the field and the shapes', () => {
  it('a dense layer after a multi-axis output without a flatten', () => {
    expect(
      issuesOf({ input: [3, 4, 4], layers: [{ type: 'batchNorm' }, { type: 'dense', units: 10 }] }),
    ).toEqual([
      'layers[1]: dense takes samples of shape [features] (or [steps, features]) but gets [3, 4, 4]; add { "type": "flatten" } before it',
    ]);
  });

  it('a residual block that changes the shape, deep inside a sequential', () => {
    expect(
      issuesOf({
        input: [8],
        layers: [
          {
            type: 'sequential',
            layers: [
              { type: 'dense', units: 8 },
              { type: 'residual', layers: [{ type: 'dense', units: 4 }] },
            ],
          },
        ],
      }),
    ).toEqual([
      "layers[0].layers[1].layers: a residual block must keep its input's shape: input [8], block output [4]",
    ]);
  });

  it('reshape, layerNorm, flatten and embedding that cannot fit', () => {
    expect(issuesOf({ input: [10], layers: [{ type: 'reshape', shape: [3, -1] }] })).toEqual([
      'layers[0].shape: a sample of shape [10] (10 elements) cannot be reshaped to [3, -1]',
    ]);
    expect(
      issuesOf({ input: [4, 5], layers: [{ type: 'layerNorm', normalizedShape: [4] }] }),
    ).toEqual([
      'layers[0].normalizedShape: [4] must be the trailing axes of the input sample [4, 5]',
    ]);
    expect(issuesOf({ input: [4], layers: [{ type: 'flatten', startDim: 0 }] })).toEqual([
      'layers[0].startDim: a spec cannot flatten the batch axis 0, got 0',
    ]);
    expect(
      issuesOf({
        input: [4],
        layers: [
          { type: 'dense', units: 3 },
          { type: 'embedding', numEmbeddings: 5, embeddingDim: 2 },
        ],
      }),
    ).toEqual([
      'layers[1]: embedding takes the int32 indices of the model input, so it must be the first layer',
    ]);
  });

  it('schema errors inside nested blocks carry the nested path', () => {
    expect(
      issuesOf({
        input: [4],
        layers: [
          {
            type: 'residual',
            layers: [
              { type: 'dense', units: '4' },
              { type: 'batchNorm', momentum: 3 },
            ],
          },
        ],
      }),
    ).toEqual([
      'layers[0].layers[0].units: expected a positive integer, got "4"',
      'layers[0].layers[1].momentum: expected a number in [0, 1] or null, got 3',
    ]);
  });

  it('a spec literal with a wrong field type does not type-check', () => {
    // @ts-expect-error units must be a number
    expect(() => buildModel({ input: [4], layers: [{ type: 'dense', units: '10' }] })).toThrow(
      SpecError,
    );
    // @ts-expect-error no such layer type
    expect(() => buildModel({ input: [4], layers: [{ type: 'conv', units: 3 }] })).toThrow(
      SpecError,
    );
  });
});

describe('summary of nested and normalising specs', () => {
  it('lists every layer with its output shape and parameters, blocks above their layers', () => {
    const text = summary(buildModel(resnet, { seed: 1 }));
    const rows = text
      .split('\n')
      .filter((l) => /^\s*\d/.test(l))
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toEqual([
      ['0', 'Dense(8 → 16, relu)', '[N, 16]', '144'],
      ['1', 'Residual', '[N, 16]', '304'],
      ['1.0', 'Dense(16 → 16)', '[N, 16]', '272'],
      ['1.1', 'BatchNorm1d(16)', '[N, 16]', '32'],
      ['1.2', 'GELU', '[N, 16]', '0'],
      ['2', 'Sequential', '[N, 16]', '32'],
      ['2.0', 'LayerNorm([16])', '[N, 16]', '32'],
      ['2.1', 'Dropout(0.1)', '[N, 16]', '0'],
      ['3', 'Dense(16 → 3)', '[N, 3]', '51'],
    ]);
    expect(text).toContain('Model: tiny-resnet');
    expect(text).toContain('Total params: 531');
    expect(text).toContain('Buffers: 33 values');
  });
});

describe('summary of a hand-built model', () => {
  it('runs an embedding-first Sequential on int32 indices', () => {
    const model = new Sequential(new Embedding(10, 4, { rng: 1 }), new LayerNorm(4));
    const text = summary(model, [6]);
    expect(text).toMatch(/0 {2}Embedding\(10, 4\)\s+\[N, 6, 4\]\s+40/);
    expect(text).toMatch(/1 {2}LayerNorm\(\[4\]\)\s+\[N, 6, 4\]\s+8/);
  });
});

describe('activation settings in specs', () => {
  it('build the activation with its setting, and refuse a setting on an activation without it', () => {
    const model = buildModel({
      input: [3],
      layers: [
        { type: 'activation', activation: 'leakyRelu', alpha: 0.2 },
        { type: 'activation', activation: 'elu', alpha: 0.5 },
        { type: 'activation', activation: 'softplus', beta: 2, threshold: 5 },
        { type: 'activation', activation: 'gelu', approximate: 'tanh' },
      ],
    });
    expect(model.layers.map(String)).toEqual([
      'LeakyReLU(0.2)',
      'ELU(alpha=0.5)',
      'Softplus(beta=2, threshold=5)',
      "GELU(approximate='tanh')",
    ]);
    const x = tensor([-1, 0.5, 3]);
    const want = gelu(
      softplus(elu(tensor([-0.2, 0.5, 3]), { alpha: 0.5 }), { beta: 2, threshold: 5 }),
      {
        approximate: 'tanh',
      },
    );
    expect(Array.from(model.forward(x).data)).toEqual(Array.from(want.data));
    expect(
      issuesOf({
        input: [3],
        layers: [
          { type: 'activation', activation: 'relu', alpha: 0.1 },
          { type: 'activation', activation: 'gelu', approximate: 'fast' },
          { type: 'activation', activation: 'softplus', beta: 0 },
        ],
      }),
    ).toEqual([
      "layers[0].alpha: expected only with activation 'leakyRelu' or 'elu', not 'relu', got 0.1",
      "layers[1].approximate: expected 'none' or 'tanh', got \"fast\"",
      'layers[2].beta: expected a finite non-zero number, got 0',
    ]);
  });
});
