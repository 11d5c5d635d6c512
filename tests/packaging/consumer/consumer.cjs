// Uses every entry point of each published package through require(), as a CommonJS
// project on Node 20 must (it cannot require an ES module): the packages' CommonJS build.
const assert = require('node:assert/strict');
const { gzipSync } = require('node:zlib');
const tensorPkg = require('@neurite/tensor');
const nnPkg = require('@neurite/nn');
const nnNode = require('@neurite/nn/node');
const dataPkg = require('@neurite/data');
const dataNode = require('@neurite/data/node');
const onnxPkg = require('@neurite/onnx');

for (const id of ['@neurite/tensor', '@neurite/nn', '@neurite/data', '@neurite/onnx']) {
  assert.equal(require(`${id}/package.json`).name, id);
}

{
  const { grad, tensor, Tensor, ShapeError, matmul } = tensorPkg;
  const x = tensor([1, 2, 3]);
  assert.deepEqual(grad((y) => y.pow(3).sum())(x).toArray(), [3, 12, 27]);
  assert.throws(() => matmul(tensor([[1, 2]]), tensor([[1, 2]])), ShapeError);
  assert.ok(x instanceof Tensor);
  console.log('ok @neurite/tensor');
}

{
  const { buildModel, SpecError } = nnPkg;
  const spec = { input: [4], layers: [{ type: 'dense', units: 3, activation: 'relu' }] };
  const model = buildModel(spec, { seed: 1 });
  // nn's CommonJS build shares the CommonJS tensor: its outputs are that Tensor.
  assert.ok(model.forward(tensorPkg.zeros([2, 4])) instanceof tensorPkg.Tensor);
  assert.equal(typeof nnNode.saveCheckpoint, 'function');
  assert.throws(
    () => buildModel({ input: [4], layers: [{ type: 'dense', units: 0 }] }),
    (error) => error instanceof SpecError && /layers\[0\]\.units/.test(error.message),
  );
  console.log('ok @neurite/nn');
}

{
  const labels = [3, 1, 4];
  const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, labels.length, ...labels]);
  assert.deepEqual(Array.from(dataPkg.parseIdx(gzipSync(raw), 'labels.gz').data), labels);
  assert.equal(typeof dataNode.loadMnist, 'function');
  assert.equal(dataNode.parseIdx, dataPkg.parseIdx);
  console.log('ok @neurite/data');
}

{
  const model = nnPkg.buildModel(
    { input: [4], layers: [{ type: 'dense', units: 3 }] },
    { seed: 1 },
  );
  const bytes = onnxPkg.toOnnx(model, { inputShape: ['batch', 4] });
  assert.ok(bytes instanceof Uint8Array && bytes.length > 15 * 4);
  assert.throws(
    () => onnxPkg.toOnnx(model, { inputShape: [2, 4], opset: 9 }),
    onnxPkg.OnnxExportError,
  );
  console.log('ok @neurite/onnx');
}

{
  const { embeddedDigits } = require('@neurite/mnist-embedded');
  const { images, trainCount } = embeddedDigits();
  assert.equal(trainCount, 8000);
  assert.equal(require('node:zlib').gunzipSync(images).length, 16 + 10000 * 784);
  dataNode.loadMnist('embedded').then((mnist) => {
    assert.equal(mnist.test.count, 2000);
    console.log('ok @neurite/mnist-embedded');
  });
}
