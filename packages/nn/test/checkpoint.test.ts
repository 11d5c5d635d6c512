import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randn, type Tensor, tensor } from '@neurite/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  buildModel,
  CheckpointError,
  checkpointBytes,
  crossEntropy,
  fromSafetensors,
  type ModelSpec,
  restoreCheckpoint,
  type Sequential,
  toSafetensors,
} from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const spec: ModelSpec = {
  name: 'tiny',
  input: [6],
  layers: [
    { type: 'dense', units: 5, activation: 'relu' },
    { type: 'dropout', rate: 0.1 },
    { type: 'dense', units: 3, activation: 'softmax' },
  ],
};
const bytesOf = (t: Tensor) =>
  new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
const paramBytes = (m: { parameters(): Tensor[] }) => m.parameters().map(bytesOf);

const dir = mkdtempSync(join(tmpdir(), 'nn-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('in-memory checkpoints', () => {
  it('round-trip the parameters bit for bit, with the spec and metadata', () => {
    const model = buildModel(spec, { seed: 7 });
    model.parameters()[0]!.data[0] = Number.NaN;
    const bytes = checkpointBytes(model, { meta: { epoch: 3, accuracy: 0.97, note: 'ok' } });
    const restored = restoreCheckpoint(bytes);
    expect(paramBytes(restored.model)).toEqual(paramBytes(model));
    expect(restored.spec).toEqual(spec);
    expect(restored.model.spec).toEqual(spec);
    expect(restored.meta).toEqual({ epoch: 3, accuracy: 0.97, note: 'ok' });
    expect(restored.optimizer).toBeUndefined();
    const { metadata } = fromSafetensors(bytes);
    expect(metadata.format).toBe('pt');
    expect(JSON.parse(metadata['neurite.spec']!)).toEqual(spec);
  });

  it('carry an optimiser state that resumes training exactly', () => {
    const x = randn([8, 6], { rng: 1 });
    const y = tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'int32' });
    const stepOnce = (m: Sequential, opt: Adam) => {
      opt.zeroGrad();
      crossEntropy(m.eval().forward(x).log(), y).backward();
      opt.step();
    };
    const straight = buildModel(spec, { seed: 2 });
    const straightOpt = new Adam(straight.parameters(), { lr: 0.05 });
    for (let i = 0; i < 6; i++) stepOnce(straight, straightOpt);

    const first = buildModel(spec, { seed: 2 });
    const firstOpt = new Adam(first.parameters(), { lr: 0.05 });
    for (let i = 0; i < 3; i++) stepOnce(first, firstOpt);
    const restored = restoreCheckpoint(checkpointBytes(first, { optimizer: firstOpt }));
    const opt = new Adam(restored.model.parameters(), { lr: 0.05 });
    opt.loadStateDict(restored.optimizer!);
    for (let i = 0; i < 3; i++) stepOnce(restored.model, opt);
    expect(paramBytes(restored.model)).toEqual(paramBytes(straight));
  });

  it('load checkpoints that name layers as 0.1 did (layers.0.weight)', () => {
    const model = buildModel(spec, { seed: 4 });
    const { tensors, metadata } = fromSafetensors(checkpointBytes(model));
    const old = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [`layers.${k}`, t]));
    const restored = restoreCheckpoint(toSafetensors(old, metadata));
    expect(Object.keys(restored.model.stateDict())).toEqual(Object.keys(model.stateDict()));
    expect(paramBytes(restored.model)).toEqual(paramBytes(model));
  });

  it('refuse a spec that does not describe the model', () => {
    const model = buildModel(spec, { seed: 1 });
    const other: ModelSpec = { ...spec, input: [7] };
    expect(() => checkpointBytes(model, { spec: other })).toThrow(
      "checkpointBytes: the spec does not describe this model:\n  '0.weight' is [5, 7] by the spec but [5, 6] in the model",
    );
  });

  it('refuse bytes without a spec, or whose tensors do not fit the spec', () => {
    const plain = toSafetensors({ w: randn([2], { rng: 1 }) });
    expect(() => restoreCheckpoint(plain, 'plain.safetensors')).toThrow(
      "plain.safetensors: no 'neurite.spec' in the metadata, so the model cannot be rebuilt: construct it and pass { into: model }",
    );
    const model = buildModel(spec, { seed: 1 });
    const tensors = model.stateDict();
    tensors['2.bias'] = randn([4], { rng: 1 });
    const wrong = toSafetensors(tensors, { 'neurite.spec': JSON.stringify(spec) });
    expect(() => restoreCheckpoint(wrong, 'wrong.safetensors')).toThrow(
      "wrong.safetensors: does not fit (1 problem):\n  model: '2.bias' has shape [4] in the state dict but [3] in the model",
    );
    const badSpec = toSafetensors(
      {},
      { 'neurite.spec': '{"input":[0],"layers":[{"type":"flatten"}]}' },
    );
    expect(() => restoreCheckpoint(badSpec, 'bad.safetensors')).toThrow(
      'bad.safetensors: the stored spec is invalid: invalid model spec: input[0]: expected a positive integer, got 0',
    );
  });
});

describe('checkpoint files (@neurite/nn/node)', () => {
  it('save and load, byte-identical to the in-memory form, leaving no temporary file', async () => {
    const path = join(dir, 'model.safetensors');
    const model = buildModel(spec, { seed: 3 });
    await saveCheckpoint(path, model, { meta: { epoch: 1 } });
    expect(new Uint8Array(readFileSync(path))).toEqual(
      checkpointBytes(model, { meta: { epoch: 1 } }),
    );
    const { model: back, meta } = await loadCheckpoint(path);
    expect(paramBytes(back)).toEqual(paramBytes(model));
    expect(meta).toEqual({ epoch: 1 });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('a truncated file is refused with its path and the problem', async () => {
    const path = join(dir, 'cut.safetensors');
    const bytes = checkpointBytes(buildModel(spec, { seed: 3 }));
    writeFileSync(path, bytes.subarray(0, bytes.length - 10));
    await expect(loadCheckpoint(path)).rejects.toThrow(CheckpointError);
    await expect(loadCheckpoint(path)).rejects.toThrow(
      new RegExp(
        `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: tensor '[\\w.]+': data_offsets .* run beyond the data section`,
      ),
    );
  });

  it('an error between writing and renaming leaves the previous checkpoint whole', async () => {
    const path = join(dir, 'keep.safetensors');
    const old = buildModel(spec, { seed: 4 });
    await saveCheckpoint(path, old, { meta: { epoch: 1 } });
    const before = readFileSync(path);
    let temp = '';
    await expect(
      saveCheckpoint(path, buildModel(spec, { seed: 5 }), {
        meta: { epoch: 2 },
        beforeRename: (t) => {
          temp = t;
          expect(existsSync(t)).toBe(true);
          throw new Error('disk gone');
        },
      }),
    ).rejects.toThrow('disk gone');
    expect(temp.startsWith(`${path}.tmp-${process.pid}-`)).toBe(true);
    expect(existsSync(temp)).toBe(false);
    expect(readFileSync(path)).toEqual(before);
    const { model, meta } = await loadCheckpoint(path);
    expect(meta).toEqual({ epoch: 1 });
    expect(paramBytes(model)).toEqual(paramBytes(old));
  });

  it('a process killed in the middle of a save leaves the previous checkpoint loadable', async () => {
    const path = join(dir, 'crash.safetensors');
    const old = buildModel(spec, { seed: 6 });
    await saveCheckpoint(path, old, { meta: { epoch: 1 } });
    const script = join(dir, 'crash.mts');
    const src = resolve(here, '../src');
    writeFileSync(
      script,
      `import { buildModel } from ${JSON.stringify(join(src, 'index.ts'))};
import { saveCheckpoint } from ${JSON.stringify(join(src, 'node.ts'))};
const spec = ${JSON.stringify(spec)};
await saveCheckpoint(${JSON.stringify(path)}, buildModel(spec, { seed: 7 }), {
  meta: { epoch: 2 },
  beforeRename: () => { process.kill(process.pid, 'SIGKILL'); },
});
console.log('not reached');
`,
    );
    // Run in a plain node process (TypeScript through the tsx loader) so the kill hits the writer itself.
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@neurite/source', script],
      {
        cwd: resolve(here, '..'),
        encoding: 'utf8',
      },
    );
    expect([run.signal, run.stderr]).toEqual(['SIGKILL', '']);
    expect(run.stdout).not.toContain('not reached');
    // The killed writer left its complete temporary file behind, never renamed.
    const leftovers = readdirSync(dir).filter((f) => f.startsWith('crash.safetensors.tmp-'));
    expect(leftovers).toHaveLength(1);
    const { meta, model } = await loadCheckpoint(path);
    expect(meta).toEqual({ epoch: 1 });
    expect(paramBytes(model)).toEqual(paramBytes(old));
    // A partial write (a writer killed mid-file) is just as harmless: only the target is read.
    writeFileSync(`${path}.tmp-1-partial`, readFileSync(path).subarray(0, 100));
    expect((await loadCheckpoint(path)).meta).toEqual({ epoch: 1 });
    // The next save to the path removes the dead writer's file; a live writer's
    // (this process's) and names of another pattern are left alone.
    const live = `${path}.tmp-${process.pid}-0123456789ab`;
    writeFileSync(live, 'saving');
    await saveCheckpoint(path, old, { meta: { epoch: 3 } });
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith('crash.safetensors.tmp-'))
        .sort(),
    ).toEqual(['crash.safetensors.tmp-1-partial', live.slice(dir.length + 1)].sort());
  });
});
