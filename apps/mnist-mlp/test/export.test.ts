import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModel, fromSafetensors, type ModelSpec } from '@neurite/nn';
import { saveCheckpoint } from '@neurite/nn/node';
import { Rng, rand } from '@neurite/tensor';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, lastJson } from './fixtures.js';

ort.env.wasm.numThreads = 1;

const spec: ModelSpec = {
  input: [784],
  layers: [
    { type: 'dense', units: 16, activation: 'sigmoid' },
    { type: 'dense', units: 16, activation: 'sigmoid' },
    { type: 'dense', units: 10, activation: 'sigmoid' },
  ],
};
const model = buildModel(spec, { seed: 4 });
let dir: string;
let checkpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mnist-mlp-export-'));
  checkpoint = join(dir, 'model.safetensors');
  await saveCheckpoint(checkpoint, model, { spec });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mnist-mlp export', () => {
  it('writes an ONNX model that onnxruntime-web runs to the same outputs, at any batch size', async () => {
    const out = join(dir, 'model.onnx');
    const result = await cli(['export', '--model', checkpoint, '--out', out, '--json']);
    expect(result.code).toBe(0);
    // With --json the human line goes to stderr, the result to stdout.
    expect(result.stderr).toMatch(/ONNX opset 18, input 'input' \[batch, 784\]/);
    expect(lastJson(result.stdout)).toMatchObject({ format: 'onnx', opset: 18, out });
    const session = await ort.InferenceSession.create(new Uint8Array(await readFile(out)));
    for (const n of [1, 7]) {
      const x = rand([n, 784], { rng: new Rng(n) });
      const { output } = await session.run({
        input: new ort.Tensor('float32', x.data as Float32Array, [n, 784]),
      });
      const expected = model.forward(x).data;
      const got = output!.data as Float32Array;
      expect(output!.dims).toEqual([n, 10]);
      expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
    }
    await session.release();
  });

  it('writes a PyTorch state dict under torch.nn.Sequential names, and prints that module', async () => {
    const out = join(dir, 'model-torch.safetensors');
    const result = await cli(['export', '--model', checkpoint, '--format', 'torch', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('nn.Linear(784, 16, bias=True),  # 0');
    expect(result.stdout).toContain('nn.Sigmoid(),  # 5');
    const { tensors, metadata } = fromSafetensors(new Uint8Array(await readFile(out)));
    expect(metadata.format).toBe('pt');
    expect(Object.keys(tensors).sort()).toEqual(
      ['0.bias', '0.weight', '2.bias', '2.weight', '4.bias', '4.weight'].sort(),
    );
    expect(Array.from(tensors['4.weight']!.data)).toEqual(
      Array.from(model.stateDict()['2.weight']!.data),
    );
  });

  it('refuses a bad format or a missing checkpoint with exit code 2 and one line', async () => {
    const bad = await cli(['export', '--model', checkpoint, '--format', 'tflite', '--out', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tflite/);
    const missing = await cli(['export', '--model', join(dir, 'none.safetensors'), '--out', 'x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });
});
