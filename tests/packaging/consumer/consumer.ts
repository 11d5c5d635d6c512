// Uses the browser-safe entry of each published package from TypeScript, with no Node
// types: `tsc` checks it against the shipped declarations, and each @ts-expect-error
// proves a type is precise rather than `any`.
import { encodeIdx, type IdxData, loadEmbeddedMnist, parseIdx } from '@neurite/data';
import { buildModel, type ModelSpec, type Module } from '@neurite/nn';
import { type ToOnnxOptions, toOnnx } from '@neurite/onnx';
import { grad, type Shape, type Tensor, tensor } from '@neurite/tensor';

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`consumer.ts: ${what}`);
}

// Never called: tsc must reject each marked line.
export function misuses(t: Tensor, idx: IdxData): void {
  // @ts-expect-error: tensor() takes numbers, not strings
  tensor(['1']);
  // @ts-expect-error: shapes are read-only
  t.shape.push(4);
  // @ts-expect-error: a dense layer's units is a number
  const spec: ModelSpec = { input: [784], layers: [{ type: 'dense', units: '16' }] };
  // @ts-expect-error: a dimension is a size or a name
  const options: ToOnnxOptions = { inputShape: [true] };
  void options;
  // @ts-expect-error: IDX dimensions are numbers
  const first: string = idx.dims[0];
  void spec;
  void first;
}

{
  const cube = (x: Tensor): Tensor => x.pow(3).sum();
  const slope: Tensor = grad(cube)(tensor([1, 2, 3]));
  const shape: Shape = slope.shape;
  check(shape.length === 1 && shape[0] === 3, `gradient shape [${shape.join(', ')}]`);
  check(slope.toArray().toString() === '3,12,27', `gradient ${slope.toArray()}`);
  console.log('ok @neurite/tensor');
}

{
  const spec: ModelSpec = {
    input: [784],
    layers: [
      { type: 'dense', units: 16, activation: 'sigmoid' },
      { type: 'dense', units: 16, activation: 'sigmoid' },
      { type: 'dense', units: 10, activation: 'sigmoid' },
    ],
  };
  const model: Module = buildModel(spec, { seed: 7 });
  check(model.parameterCount() === 13002, `parameter count ${model.parameterCount()}`);
  console.log('ok @neurite/nn');
}

{
  const pixels = new Uint8Array([0, 64, 128, 255]);
  const idx: IdxData = parseIdx(encodeIdx({ dims: [2, 2], data: pixels }, { gzip: true }));
  check(idx.dims.join('x') === '2x2', `IDX dims ${idx.dims.join('x')}`);
  check(Array.from(idx.data).join() === '0,64,128,255', `IDX data ${Array.from(idx.data)}`);
  console.log('ok @neurite/data');
}

{
  const model: Module = buildModel({ input: [2], layers: [{ type: 'dense', units: 1 }] });
  const bytes: Uint8Array = toOnnx(model, { inputShape: ['batch', 2], opset: 17 });
  check(bytes.length > 0, 'ONNX bytes');
  console.log('ok @neurite/onnx');
}

{
  const mnist = await loadEmbeddedMnist(await import('@neurite/mnist-embedded'));
  check(mnist.train.count === 8000, `train count ${mnist.train.count}`);
  console.log('ok @neurite/mnist-embedded');
}
