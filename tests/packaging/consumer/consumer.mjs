// Uses each published package from plain JavaScript, as installed from its tarball.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { IdxError, loadEmbeddedMnist, parseIdx } from '@neurite/data';
import { readIdxFile } from '@neurite/data/node';
import { buildModel, SpecError } from '@neurite/nn';
import { OnnxExportError, toOnnx } from '@neurite/onnx';
import { bernoulli, compile, grad, matmul, Rng, ShapeError, tensor, zeros } from '@neurite/tensor';

{
  const cube = (x) => x.pow(3).sum();
  const x = tensor([1, 2, 3]);
  assert.deepEqual(grad(cube)(x).toArray(), [3, 12, 27]);
  // A gradient is a graph, so it differentiates again: d/dx 3x² = 6x.
  assert.deepEqual(grad((y) => grad(cube)(y).sum())(x).toArray(), [6, 12, 18]);
  assert.throws(() => matmul(tensor([[1, 2]]), tensor([[1, 2]])), ShapeError);
  // The kernels' memory: a pinned input read in place by a compiled step, whose plans clear() frees.
  const w = tensor([
    [1, 0],
    [0, 2],
    [1, 1],
  ]);
  const step = compile((a) => matmul(a, w).relu().sum());
  const pinned = tensor([
    [1, -2, 3],
    [4, 5, -6],
  ]).pinMemory();
  assert.equal(pinned.isPinned(), true);
  assert.equal(step(pinned).item(), 8);
  step.clear();
  assert.deepEqual(step.plans(), []);
  assert.equal(step(pinned).item(), 8);
  console.log('ok @neurite/tensor');
}

{
  const hidden = { type: 'dense', units: 16, activation: 'sigmoid' };
  const spec = { input: [784], layers: [hidden, hidden, { ...hidden, units: 10 }] };
  const model = buildModel(spec, { seed: 7 });
  assert.equal(model.parameterCount(), 13002);
  assert.deepEqual(model.forward(zeros([2, 784])).shape, [2, 10]);
  const first = (m) => Array.from(m.stateDict()['0.weight'].data);
  assert.deepEqual(first(buildModel(spec, { seed: 7 })), first(model));
  assert.throws(
    () => buildModel({ input: [784], layers: [{ type: 'dense', units: -1 }] }),
    (error) => error instanceof SpecError && /layers\[0\]\.units/.test(error.message),
  );
  console.log('ok @neurite/nn');
}

{
  // IDX by hand: magic 0x00000801 (uint8, one dimension), the count, the bytes.
  const labels = [3, 1, 4, 1, 5];
  const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, labels.length, ...labels]);
  const idx = parseIdx(gzipSync(raw), 'labels.gz');
  assert.deepEqual(idx.dims, [5]);
  assert.deepEqual(Array.from(idx.data), labels);
  assert.throws(() => parseIdx(raw.subarray(0, 7), 'cut.idx'), IdxError);
  const dir = await mkdtemp(join(tmpdir(), 'neurite-idx-'));
  try {
    await writeFile(join(dir, 'labels.idx'), raw);
    assert.deepEqual(Array.from((await readIdxFile(join(dir, 'labels.idx'))).data), labels);
  } finally {
    await rm(dir, { recursive: true });
  }
  console.log('ok @neurite/data');
}

{
  const model = buildModel({ input: [4], layers: [{ type: 'dense', units: 3 }] }, { seed: 1 });
  const bytes = toOnnx(model, { inputShape: ['batch', 4] });
  assert.ok(bytes instanceof Uint8Array && bytes.length > 15 * 4);
  // The weights are stored as raw float32 bytes: find the first one in the file.
  const w0 = new Uint8Array(new Float32Array([model.stateDict()['0.weight'].data[0]]).buffer);
  assert.ok(Buffer.from(bytes).includes(Buffer.from(w0)));
  assert.throws(
    () => toOnnx((x) => x.mul(bernoulli(x.shape, 0.5, new Rng(1))), { inputShape: [2] }),
    (error) => error instanceof OnnxExportError && /bernoulli/.test(error.message),
  );
  console.log('ok @neurite/onnx');
}

{
  // Found by @neurite/data itself in Node, and passed in as a bundle would.
  const found = await loadEmbeddedMnist();
  const passed = await loadEmbeddedMnist(await import('@neurite/mnist-embedded'));
  assert.equal(found.train.count, 8000);
  assert.deepEqual(Array.from(passed.test.labels.data), Array.from(found.test.labels.data));
  console.log('ok @neurite/mnist-embedded');
}
