import { randn } from '@neurite/tensor';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import {
  buildModel,
  Dense,
  Dropout,
  Flatten,
  layerTypes,
  type ModelSpec,
  modelSpecSchema,
  parseSpec,
  Sequential,
  SpecError,
  summary,
} from '../src/index.js';

const classic: ModelSpec = {
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation: 'sigmoid' },
    { type: 'dense', units: 16, activation: 'sigmoid' },
    { type: 'dense', units: 10, activation: 'sigmoid' },
  ],
};

function specError(value: unknown): SpecError {
  try {
    parseSpec(value);
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('the spec was accepted');
}

describe('buildModel', () => {
  it('builds the 784-16-16-10 network with 13,002 parameters', () => {
    const model = buildModel(classic, { seed: 1 });
    expect(model).toBeInstanceOf(Sequential);
    expect(model.parameterCount()).toBe(13002);
    expect(Object.entries(model.stateDict()).map(([k, v]) => [k, v.shape])).toEqual([
      ['0.weight', [16, 784]],
      ['0.bias', [16]],
      ['1.weight', [16, 16]],
      ['1.bias', [16]],
      ['2.weight', [10, 16]],
      ['2.bias', [10]],
    ]);
    const out = model.forward(randn([5, 784], { rng: 2 }));
    expect(out.shape).toEqual([5, 10]);
    expect(Array.from(out.data).every((v) => v > 0 && v < 1)).toBe(true);
    expect(model.spec).toEqual(classic);
  });

  it('gives bit-identical weights for the same seed and different ones otherwise', () => {
    const bytes = (seed: number) =>
      buildModel(classic, { seed })
        .parameters()
        .map((p) => new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength).slice());
    expect(bytes(42)).toEqual(bytes(42));
    expect(bytes(42)).not.toEqual(bytes(43));
  });

  it('builds flatten, dropout, activation layers and honours bias and init', () => {
    const model = buildModel(
      {
        input: [28, 28],
        layers: [
          { type: 'flatten' },
          { type: 'dense', units: 32, init: 'he', bias: false },
          { type: 'activation', activation: 'relu' },
          { type: 'dropout', rate: 0.25 },
          { type: 'dense', units: 10, activation: 'softmax', init: 'glorot' },
        ],
      },
      { seed: 3 },
    );
    expect(model.layers[0]).toBeInstanceOf(Flatten);
    expect((model.layers[1] as Dense).inFeatures).toBe(784);
    expect((model.layers[1] as Dense).bias).toBeNull();
    expect((model.layers[3] as Dropout).rate).toBe(0.25);
    expect(model.parameterCount()).toBe(784 * 32 + 32 * 10 + 10);
    expect(Object.keys(model.stateDict())).toEqual(['1.weight', '4.weight', '4.bias']);
    const probs = model.eval().forward(randn([2, 28, 28], { rng: 1 }));
    expect(probs.sum(1).toArray()).toEqual([expect.closeTo(1, 6), expect.closeTo(1, 6)]);
  });
});

describe('parseSpec', () => {
  it('accepts a valid spec and round-trips it through JSON', () => {
    expect(parseSpec(JSON.parse(JSON.stringify(classic)))).toEqual(classic);
  });

  it('names the field, why, and what it got', () => {
    const bad = structuredClone(classic) as { layers: { units: number }[] };
    bad.layers[1]!.units = -3;
    const e = specError(bad);
    expect(e.issues).toEqual(['layers[1].units: expected a positive integer, got -3']);
    expect(e.message).toBe(
      'invalid model spec: layers[1].units: expected a positive integer, got -3',
    );
  });

  it('lists every problem of a badly broken spec', () => {
    const e = specError({
      input: [784, 0],
      layers: [
        { type: 'dense', units: 2.5, activation: 'swish' },
        { type: 'conv', filters: 3 },
        { type: 'dense', unit: 16 },
        { type: 'dropout', rate: 1.5 },
        'dense',
      ],
      optimizer: 'adam',
    });
    expect(e.issues).toEqual([
      'input[1]: expected a positive integer, got 0',
      'layers[0].units: expected a positive integer, got 2.5',
      "layers[0].activation: expected an activation, one of 'sigmoid', 'relu', 'tanh', 'leakyRelu', 'softmax', 'gelu', 'silu', 'softplus', 'elu', 'linear', got \"swish\"",
      `layers[1].type: expected a layer type, one of ${layerTypes.map((t) => `'${t}'`).join(', ')}, got "conv"`,
      'layers[2].units: expected a positive integer, got nothing',
      'layers[2].unit: unexpected field (allowed: type, units, activation, bias, init), got 16',
      'layers[3].rate: expected a number in [0, 1), got 1.5',
      'layers[4]: expected a layer object such as { "type": "dense", "units": 16 }, got "dense"',
      'optimizer: unexpected field (allowed: name, input, layers), got "adam"',
    ]);
    expect(e.message).toMatch(/^invalid model spec \(9 problems\):\n {2}input\[1\]/);
  });

  it('refuses a missing or empty structure', () => {
    expect(specError({ input: [784], layers: [] }).issues).toEqual([
      'layers: expected at least one layer, got []',
    ]);
    expect(specError({ layers: classic.layers }).issues[0]).toBe(
      'input: expected the shape of one sample, an array of positive integers, got nothing',
    );
    expect(specError(null).issues).toEqual([
      '(the spec itself): expected a model spec, an object { input, layers }, got null',
    ]);
    expect(specError({ input: [4], layers: [[{ type: 'dense', units: 2 }]] }).issues).toEqual([
      'layers[0]: expected a layer object such as { "type": "dense", "units": 16 }, got [{"type":"dense","units":2}]',
    ]);
  });

  it('lists every unknown field of a layer, and a pair entry by its index', () => {
    expect(
      specError({
        input: [1, 8, 8],
        layers: [{ type: 'conv2d', outChannels: 2, kernelSize: [3, 2.5], filters: 3, size: 2 }],
      }).issues,
    ).toEqual([
      'layers[0].kernelSize[1]: expected a positive integer, got 2.5',
      'layers[0].filters: unexpected field (allowed: type, outChannels, kernelSize, stride, padding, dilation, groups, paddingMode, bias, inChannels), got 3',
      'layers[0].size: unexpected field (allowed: type, outChannels, kernelSize, stride, padding, dilation, groups, paddingMode, bias, inChannels), got 2',
    ]);
  });

  it('refuses the fields an object reader could pass over: __proto__, constructor, prototype', () => {
    const json =
      '{"input":[4],"layers":[{"type":"dense","units":2,"__proto__":{"units":-1}},{"type":"flatten","constructor":1}],"prototype":"x"}';
    expect(specError(JSON.parse(json)).issues).toEqual([
      'layers[0].__proto__: unexpected field, got {"units":-1}',
      'layers[1].constructor: unexpected field, got 1',
      'prototype: unexpected field, got "x"',
    ]);
  });

  it('modelSpecSchema composes into a larger valibot schema with the same checks', () => {
    const file = v.object({ version: v.number(), model: modelSpecSchema });
    expect(v.parse(file, { version: 1, model: classic }).model).toEqual(classic);
    const bad = v.safeParse(file, {
      version: 1,
      model: { input: [784], layers: [{ type: 'dense', units: 0 }] },
    });
    expect(bad.success).toBe(false);
    expect(bad.issues?.map((i) => [i.path?.map((p) => p.key), i.message])).toEqual([
      [['model', 'layers', 0, 'units'], 'expected a positive integer'],
    ]);
  });

  it('buildModel refuses what parseSpec refuses', () => {
    expect(() => buildModel({ input: [784], layers: [{ type: 'dense', units: -3 }] })).toThrow(
      'layers[0].units: expected a positive integer, got -3',
    );
  });
});

describe('summary', () => {
  it('prints one row per layer with output shape and parameters, then the total', () => {
    const text = summary(buildModel({ name: 'classic', ...classic }, { seed: 1 }));
    const lines = text.split('\n');
    expect(lines[0]).toBe('Model: classic');
    expect(lines[1]).toMatch(/^Layer\s+Output shape\s+Params$/);
    const rows = lines.filter((l) => /^\d/.test(l) || l.startsWith('input'));
    expect(rows.map((r) => r.split(/\s{2,}/))).toEqual([
      ['input', '[N, 784]', '0'],
      ['0', 'Dense(784 → 16, sigmoid)', '[N, 16]', '12,560'],
      ['1', 'Dense(16 → 16, sigmoid)', '[N, 16]', '272'],
      ['2', 'Dense(16 → 10, sigmoid)', '[N, 10]', '170'],
    ]);
    expect(lines.at(-1)).toBe('Total params: 13,002 (50.8 KiB)');
  });

  it('works for hand-built models given an input shape, without disturbing dropout', () => {
    const drop = new Dropout(0.5, { rng: 1 });
    const before = drop.rng.state();
    const model = new Sequential(new Flatten(), new Dense(12, 4, { rng: 1 }), drop);
    const text = summary(model, [3, 4]);
    expect(text).toContain('0  Flatten');
    expect(text).toMatch(/2 {2}Dropout\(0\.5\)\s+\[N, 4\]\s+0/);
    expect(drop.rng.state()).toEqual(before);
    expect(drop.training).toBe(true);
    expect(summary(model)).toMatch(/1 {2}Dense\(12 → 4\)\s+-\s+52/);
  });
});

describe('parseSpec of hostile values', () => {
  it('refuses a field nested 5,000 deep with a SpecError, not a stack overflow', () => {
    const deep = JSON.parse(
      `{"input":[4],"layers":[{"type":"dense","units":${'['.repeat(5000)}1${']'.repeat(5000)}}]}`,
    );
    expect(() => parseSpec(deep)).toThrow(SpecError);
    expect(() => parseSpec(deep)).toThrow(
      /layers\[0\]\.units\[0\]\[0\]\[0\]…: nested deeper than 64 levels/,
    );
  });
});
