import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, randn, type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
// The kernels' own switch, not public API, thrown before this file's first product (each test
// file runs in a fresh module graph): the committed export fixture holds weights trained without
// relaxed SIMD, whose fused multiply-adds (Node 22+) change their last bits.
import { setRelaxedAllowed } from '../../tensor/src/kernels/relaxed.js';
import {
  buildModel,
  fromSafetensors,
  loadTorchStateDict,
  type ModelSpec,
  Sequential,
  StateDictError,
  torchLayout,
  toSafetensors,
  toTorchStateDict,
} from '../src/index.js';

setRelaxedAllowed(false);

// The fixtures come from scripts/torch_round_trip.py (PyTorch's side); the tests need no torch.
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const read = (name: string) => fromSafetensors(readFileSync(fixture(name)), name);

/** The spec of the script's nn.Sequential(Linear, ReLU, BatchNorm1d, Linear, Sigmoid, Dropout, Linear). */
const spec: ModelSpec = {
  input: [6],
  layers: [
    { type: 'dense', units: 8, activation: 'relu' },
    { type: 'batchNorm' },
    { type: 'dense', units: 5, activation: 'sigmoid' },
    { type: 'dropout', rate: 0.25 },
    { type: 'dense', units: 3 },
  ],
};

const maxDiff = (a: Tensor, b: Tensor) =>
  Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));

/** A safetensors file's header text and the length of its data section. */
function split(bytes: Uint8Array): [string, number] {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  return [new TextDecoder().decode(bytes.subarray(8, 8 + n)), bytes.length - 8 - n];
}

function asSequential(m: unknown): Sequential {
  if (!(m instanceof Sequential)) throw new Error('expected a Sequential');
  return m;
}

describe('a PyTorch state dict', () => {
  const io = read('torch-io.safetensors').tensors;

  it('loads into the model of the same spec without renaming, with the same logits', () => {
    const model = asSequential(buildModel(spec, { seed: 9 }));
    const { tensors, metadata } = read('torch-f32.safetensors');
    expect(metadata.format).toBe('pt');
    expect(loadTorchStateDict(model, tensors)).toEqual({ missing: [], unexpected: [] });
    model.eval();
    expect(maxDiff(model.forward(io.input!), io.logits!)).toBeLessThanOrEqual(1e-5);
  });

  it.each([
    ['f16', 2 ** -11],
    ['bf16', 2 ** -8],
  ])('reads %s tensors, upcast to float32 within half a unit of the last place', (name, ulp) => {
    const full = read('torch-f32.safetensors').tensors;
    const half = read(`torch-${name}.safetensors`).tensors;
    for (const [key, t] of Object.entries(full)) {
      const h = half[key]!;
      expect(h.dtype, key).toBe(t.dtype);
      t.data.forEach((v, i) => {
        expect(Math.abs(h.data[i]! - v), `${key}[${i}]`).toBeLessThanOrEqual(
          Math.abs(v) * ulp + 2 ** -24,
        );
      });
    }
    const model = asSequential(buildModel(spec, { seed: 9 }));
    loadTorchStateDict(model, half);
    model.eval();
    expect(maxDiff(model.forward(io.input!), io.logits!)).toBeLessThan(0.05);
  });

  it('that does not fit is refused with every mismatch, under PyTorch names', () => {
    const wider = {
      ...spec,
      layers: [{ type: 'dense', units: 7, activation: 'relu' }, ...spec.layers.slice(1)],
    } as ModelSpec;
    const model = asSequential(buildModel(wider, { seed: 9 }));
    const { tensors } = read('torch-f32.safetensors');
    const { '6.bias': _, ...partial } = tensors;
    const before = model.stateDict()['0.weight']!.data.slice();
    let message = '';
    try {
      loadTorchStateDict(model, { ...partial, 'extra.weight': tensor([1]) });
    } catch (e) {
      expect(e).toBeInstanceOf(StateDictError);
      message = (e as Error).message;
    }
    for (const name of [
      '0.weight',
      '0.bias',
      '2.running_mean',
      '3.weight',
      '6.bias',
      'extra.weight',
    ])
      expect(message).toContain(`'${name}'`);
    expect(message).toMatch(/\[8, 6\]/);
    expect(model.stateDict()['0.weight']!.data).toEqual(before);
  });
});

describe('a neurite model exported for PyTorch', () => {
  function trained(): Sequential {
    const model = asSequential(buildModel(spec, { seed: 1 }));
    model.forward(
      randn([16, 6], { rng: new Rng(2) })
        .mul(2)
        .add(0.5),
    ); // running statistics
    return model.eval();
  }

  it('is laid out as the documented torch.nn.Sequential', () => {
    const model = trained();
    const { code, names } = torchLayout(model);
    expect(code).toBe(
      [
        'import torch.nn as nn',
        '',
        'model = nn.Sequential(',
        '    nn.Linear(6, 8, bias=True),  # 0',
        '    nn.ReLU(),  # 1',
        '    nn.BatchNorm1d(8, eps=0.00001, momentum=0.1, affine=True, track_running_stats=True),  # 2',
        '    nn.Linear(8, 5, bias=True),  # 3',
        '    nn.Sigmoid(),  # 4',
        '    nn.Dropout(0.25),  # 5',
        '    nn.Linear(5, 3, bias=True),  # 6',
        ')',
      ].join('\n'),
    );
    expect(names['4.weight']).toBe('6.weight');
    expect(Object.keys(toTorchStateDict(model)).sort()).toEqual(
      Object.keys(read('torch-f32.safetensors').tensors).sort(),
    );
  });

  it('round-trips through PyTorch names, and F16/BF16 on request', () => {
    const model = trained();
    const x = randn([4, 6], { rng: new Rng(3) });
    const bytes = toSafetensors(toTorchStateDict(model), { format: 'pt' });
    const back = asSequential(buildModel(spec, { seed: 5 })).eval();
    loadTorchStateDict(back, fromSafetensors(bytes).tensors);
    expect(maxDiff(back.forward(x), model.forward(x))).toBe(0);
    for (const dtype of ['F16', 'BF16'] as const) {
      const small = toSafetensors(toTorchStateDict(model), { format: 'pt' }, { dtype });
      const [header, data] = split(small);
      // 2 bytes a float instead of 4; the int32 batch counter stays 4.
      expect(data).toBe((split(bytes)[1] - 4) / 2 + 4);
      expect(header).toContain(`"dtype":"${dtype}"`);
      expect(header).toContain('"2.num_batches_tracked":{"dtype":"I32"');
    }
  });

  it('is the committed fixture that PyTorch loaded with strict=True and the same logits', () => {
    const model = trained();
    const { code } = torchLayout(model);
    const bytes = toSafetensors(toTorchStateDict(model), { format: 'pt', 'torch.code': code });
    const input = randn([4, 6], { rng: new Rng(4) });
    const io = toSafetensors({ input, logits: model.forward(input) });
    if (process.env.NEURITE_WRITE_FIXTURES || !existsSync(fixture('neurite-export.safetensors'))) {
      writeFileSync(fixture('neurite-export.safetensors'), bytes);
      writeFileSync(fixture('neurite-io.safetensors'), io);
    }
    // If this fails, the export changed: rewrite the fixtures and rerun the PyTorch check.
    expect(
      Buffer.from(readFileSync(fixture('neurite-export.safetensors'))).equals(Buffer.from(bytes)),
    ).toBe(true);
    expect(
      Buffer.from(readFileSync(fixture('neurite-io.safetensors'))).equals(Buffer.from(io)),
    ).toBe(true);
  });
});

describe('half-precision encoding', () => {
  it('writes and reads exactly what F16 and BF16 can hold, and rounds the rest to nearest even', () => {
    const exact = tensor([
      0,
      -0,
      0.5,
      -2,
      65504,
      2 ** -24,
      2 ** -14,
      1 + 2 ** -10,
      Infinity,
      -Infinity,
      Number.NaN,
    ]);
    const f16 = fromSafetensors(toSafetensors({ t: exact }, undefined, { dtype: 'F16' })).tensors
      .t!;
    expect(Array.from(f16.data)).toEqual(Array.from(exact.data));
    const b = tensor([1, -3.5, 2 ** 100, 1 + 2 ** -7, 2 ** -130, Number.NaN]);
    const bf16 = fromSafetensors(toSafetensors({ t: b }, undefined, { dtype: 'BF16' })).tensors.t!;
    expect(Array.from(bf16.data)).toEqual(Array.from(b.data));
    const rounded = fromSafetensors(
      toSafetensors({ t: tensor([1 + 2 ** -11, 1 + 3 * 2 ** -11, 70000]) }, undefined, {
        dtype: 'F16',
      }),
    ).tensors.t!;
    expect(Array.from(rounded.data)).toEqual([1, 1 + 2 ** -9, Infinity]);
  });

  it('refuses an I64 value that int32 cannot hold, naming the tensor and the byte', () => {
    const bytes = toSafetensors({ n: tensor([1], { dtype: 'int32' }) });
    const text = new TextDecoder().decode(bytes);
    // Rewrite the I32 entry as an I64 one holding 2^40.
    const header = JSON.stringify({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }).padEnd(
      64,
      ' ',
    );
    const out = new Uint8Array(8 + 64 + 8);
    new DataView(out.buffer).setUint32(0, 64, true);
    out.set(new TextEncoder().encode(header), 8);
    new DataView(out.buffer).setBigInt64(72, 2n ** 40n, true);
    expect(text.length).toBeGreaterThan(0);
    expect(() => fromSafetensors(out, 'big.safetensors')).toThrow(
      /big.safetensors: tensor 'n': I64 value 1099511627776 at index 0 \(file byte 72\) does not fit int32/,
    );
  });
});
