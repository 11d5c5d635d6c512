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

/** Whether this engine has WebAssembly relaxed SIMD, with which neurite's kernels fuse multiply-adds. */
const relaxedSimd = WebAssembly.validate(
  Uint8Array.of(
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b],
    ...[0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20],
    ...[0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b],
  ),
);

describe('summation order', () => {
  // Both sum each block of 256 inputs in order and then the blocks in order, rounding every
  // multiply-add twice, so a dense layer of 784 inputs (three blocks) gives the same bits. With
  // relaxed SIMD neurite fuses its multiply-adds and the last bits differ.
  it.skipIf(relaxedSimd)('of a 784-input network is ONNX Runtime’s: the same bits', async () => {
    const model = buildModel(
      { input: [784], layers: [hidden('relu'), hidden('relu'), { type: 'dense', units: 10 }] },
      { seed: 5 },
    );
    const bytes = toOnnx(model, { inputShape: ['batch', 784] });
    const x = randn([300, 784], { rng: new Rng(8) });
    const { output } = await runOnnx(bytes, { input: x });
    expect(maxDifference(output!.data, model.forward(x).data)).toBe(0);
  });
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
