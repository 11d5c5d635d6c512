import { fromBinary } from '@bufbuild/protobuf';
import { buildModel } from '@neurite/nn';
import { Rng, randn } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { ModelProtoSchema } from '../src/gen/onnx_pb.js';
import { toOnnx } from '../src/index.js';
import { maxDifference, runOnnx } from './ort.js';

const hidden = (activation: 'sigmoid' | 'relu') =>
  ({ type: 'dense', units: 16, activation }) as const;

describe('the 784-16-16-10 network in onnxruntime-web', () => {
  it.each(['sigmoid', 'relu'] as const)(
    'agrees with neurite (%s) at any batch size',
    async (activation) => {
      const model = buildModel(
        {
          input: [784],
          layers: [hidden(activation), hidden(activation), { type: 'dense', units: 10 }],
        },
        { seed: 3 },
      );
      const bytes = toOnnx(model, { inputShape: ['batch', 784] });
      for (const batch of [1, 4, 9]) {
        const x = randn([batch, 784], { rng: new Rng(batch) });
        const expected = model.forward(x);
        const { output } = await runOnnx(bytes, { input: x });
        expect(output!.dims).toEqual([batch, 10]);
        expect(maxDifference(output!.data, expected.data)).toBeLessThanOrEqual(1e-5);
      }
    },
  );
});

describe('the graph written', () => {
  it('takes the input shape from the spec of a built model, with a dynamic batch', () => {
    const model = buildModel({
      input: [3, 4],
      layers: [{ type: 'flatten' }, { type: 'dense', units: 2 }],
    });
    const graph = fromBinary(ModelProtoSchema, toOnnx(model)).graph!;
    const input = graph.input[0]!.type!.value;
    expect(input.case === 'tensorType' && input.value.shape!.dim.map((d) => d.value.value)).toEqual(
      ['batch', 3n, 4n],
    );
  });

  it('has one node per primitive and the parameters under their state-dict names', () => {
    const model = buildModel(
      { input: [784], layers: [hidden('sigmoid'), { type: 'dense', units: 10 }] },
      { seed: 1 },
    );
    const onnx = fromBinary(ModelProtoSchema, toOnnx(model, { inputShape: ['batch', 784] }));
    expect(onnx.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([['', 18]]);
    const graph = onnx.graph!;
    expect(graph.node.map((n) => n.opType)).toEqual([
      'Gemm',
      'Add',
      'Sigmoid',
      'Gemm',
      'Add',
      'Identity',
    ]);
    const gemm = graph.node[0]!;
    expect(gemm.attribute.map((a) => [a.name, Number(a.i)])).toEqual([
      ['transA', 0],
      ['transB', 1],
    ]);
    expect(graph.initializer.map((t) => [t.name, t.dims.map(Number)])).toEqual(
      Object.entries(model.stateDict()).map(([name, t]) => [name, t.shape]),
    );
    const input = graph.input[0]!.type!.value;
    expect(input.case === 'tensorType' && input.value.shape!.dim.map((d) => d.value.value)).toEqual(
      ['batch', 784n],
    );
  });
});
