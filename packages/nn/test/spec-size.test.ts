import { describe, expect, it } from 'vitest';
import {
  buildModel,
  CheckpointError,
  inferShapes,
  type ModelSpec,
  restoreCheckpoint,
  SpecError,
  toSafetensors,
} from '../src/index.js';
import { modelValues } from '../src/spec-size.js';

const specs: [string, ModelSpec][] = [
  [
    'dense, with and without bias',
    {
      input: [7],
      layers: [
        { type: 'dense', units: 5 },
        { type: 'dense', units: 3, bias: false },
      ],
    },
  ],
  [
    'conv2d, groups and no bias, then conv1d',
    {
      input: [4, 9, 9],
      layers: [
        { type: 'conv2d', outChannels: 6, kernelSize: [3, 2], groups: 2 },
        { type: 'conv2d', outChannels: 4, kernelSize: 3, bias: false },
        { type: 'reshape', shape: [4, 30] },
        { type: 'conv1d', outChannels: 2, kernelSize: 5, padding: 'same' },
      ],
    },
  ],
  [
    'batchNorm with and without affine and statistics',
    {
      input: [3, 5, 5],
      layers: [
        { type: 'batchNorm' },
        { type: 'batchNorm', affine: false },
        { type: 'batchNorm', trackRunningStats: false },
        { type: 'maxPool2d', kernelSize: 2 },
        { type: 'adaptiveAvgPool2d', outputSize: 1 },
        { type: 'flatten' },
      ],
    },
  ],
  [
    'layerNorm, embedding, nested blocks',
    {
      input: [6],
      layers: [
        { type: 'embedding', numEmbeddings: 11, embeddingDim: 4 },
        { type: 'layerNorm' },
        { type: 'layerNorm', normalizedShape: [6, 4], elementwiseAffine: false },
        {
          type: 'residual',
          layers: [
            { type: 'dense', units: 8, activation: 'relu' },
            {
              type: 'sequential',
              layers: [
                { type: 'dropout', rate: 0.1 },
                { type: 'dense', units: 4 },
              ],
            },
          ],
        },
      ],
    },
  ],
];

describe('the values a spec holds, known before building', () => {
  it.each(specs)('%s: as many as buildModel allocates', (_name, spec) => {
    const built = Object.values(buildModel(spec).stateDict()).reduce((n, t) => n + t.size, 0);
    expect(modelValues(inferShapes(spec))).toBe(built);
  });

  it('buildModel refuses a model over the limit with the numbers, before allocating', () => {
    const huge: ModelSpec = { input: [4], layers: [{ type: 'dense', units: 2 ** 53 - 1 }] };
    expect(() => buildModel(huge)).toThrow(SpecError);
    expect(() => buildModel(huge)).toThrow(
      /layers\[0\], dense: .*more than the limit of 268435456; raise it with \{ maxValues \}/,
    );
    const wide: ModelSpec = {
      input: [2 ** 31],
      layers: [{ type: 'flatten' }, { type: 'dense', units: 2 }],
    };
    expect(() => buildModel(wide)).toThrow(/needs 4294967298 parameter and buffer values/);
    expect(() => buildModel(specs[0]![1], { maxValues: 10 })).toThrow(
      /needs 55 parameter and buffer values .*limit of 10;/,
    );
  });

  it('restoreCheckpoint weighs the stored spec against the values the file holds', () => {
    const spec = { input: [10000], layers: [{ type: 'dense', units: 30000 }] };
    const bytes = toSafetensors({}, { 'neurite.spec': JSON.stringify(spec) });
    expect(bytes.length).toBeLessThan(200);
    expect(() => restoreCheckpoint(bytes, 'tiny.safetensors')).toThrow(CheckpointError);
    expect(() => restoreCheckpoint(bytes, 'tiny.safetensors')).toThrow(
      'tiny.safetensors: the stored spec needs 300030000 parameter and buffer values, but the file holds 0; refused before building the model',
    );
  });
});
