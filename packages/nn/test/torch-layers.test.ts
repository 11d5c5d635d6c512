import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm1d,
  BatchNorm2d,
  buildModel,
  Conv1d,
  Conv2d,
  ELU,
  Embedding,
  GELU,
  LayerNorm,
  loadTorchStateDict,
  type ModelSpec,
  type Module,
  SiLU,
  Softplus,
  type StateDict,
  torchLayout,
  toTorchStateDict,
} from '../src/index.js';

/**
 * The layers against PyTorch in float64 (fixtures written by
 * scripts/layer-fixtures.py): outputs, gradients, running statistics and
 * state dicts loaded one to one.
 */

interface Json {
  shape: number[];
  values: number[];
}
type Grads = Record<string, Json> & { v: Json; input: Json };
interface Step {
  mode: 'train' | 'eval';
  input: Json;
  output: Json;
  grads: Grads;
  state: Record<string, Json>;
}

const here = dirname(fileURLToPath(import.meta.url));
const { cases } = JSON.parse(readFileSync(join(here, 'fixtures/layers-torch.json'), 'utf8'));

const t64 = (j: Json, requiresGrad = false) =>
  tensor(Float64Array.from(j.values), { shape: j.shape, requiresGrad });
const stateOf = (state: Record<string, Json>): StateDict =>
  Object.fromEntries(
    Object.entries(state).map(([k, j]) => [
      k,
      k.endsWith('num_batches_tracked')
        ? tensor(Int32Array.from(j.values), { shape: j.shape })
        : t64(j),
    ]),
  );

function close(got: ArrayLike<number>, want: readonly number[], tol = 1e-12): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!));
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  expect(worst).toBeLessThan(tol);
}

/** Runs `module` on the step's input, compares output and every gradient of sum(out·v). */
function checkStep(module: Module, step: Step, forward = (x: Tensor) => module.forward(x)) {
  module.zeroGrad();
  const x = t64(step.input, true);
  const out = forward(x);
  expect(out.shape).toEqual(step.output.shape);
  close(out.data, step.output.values);
  out.mul(t64(step.grads.v)).sum().backward();
  close(x.grad!.data, step.grads.input.values);
  const params = new Map(module.namedParameters());
  for (const [name, g] of Object.entries(step.grads)) {
    if (name === 'v' || name === 'input') continue;
    close(params.get(name)!.grad!.data, g.values);
  }
  const state = module.stateDict();
  expect(Object.keys(state)).toEqual(Object.keys(step.state));
  for (const [name, j] of Object.entries(step.state)) close(state[name]!.data, j.values);
}

describe('BatchNorm against PyTorch', () => {
  it('BatchNorm2d: three training steps (running stats, unbiased variance) then evaluation', () => {
    const c = cases.batchNorm2d;
    const bn = new BatchNorm2d(3, { momentum: 0.2, dtype: 'float64' });
    bn.loadStateDict(stateOf(c.initial));
    for (const step of c.steps as Step[]) {
      if (step.mode === 'eval') bn.eval();
      checkStep(bn, step);
    }
    expect(bn.numBatchesTracked!.item()).toBe(3);
  });

  it('BatchNorm1d with momentum null on [N, C] and [N, C, L], then evaluation', () => {
    const c = cases.batchNorm1d;
    const bn = new BatchNorm1d(4, { momentum: null, dtype: 'float64' });
    bn.loadStateDict(stateOf(c.initial));
    for (const step of c.steps as Step[]) {
      if (step.mode === 'eval') bn.eval();
      checkStep(bn, step);
    }
  });
});

describe('LayerNorm, activations, Embedding against PyTorch', () => {
  it('LayerNorm over two axes with eps 1e-6', () => {
    const c = cases.layerNorm;
    const ln = new LayerNorm([4, 5], { eps: 1e-6, dtype: 'float64' });
    ln.loadStateDict(stateOf(c.state));
    checkStep(ln, { ...c, mode: 'train' });
  });

  it('GELU (exact and tanh), SiLU, Softplus, ELU: values and gradients', () => {
    const { input, results } = cases.activations;
    const layers: Record<string, Module> = {
      gelu: new GELU(),
      geluTanh: new GELU({ approximate: 'tanh' }),
      silu: new SiLU(),
      softplus: new Softplus({ beta: 2, threshold: 5 }),
      elu: new ELU(0.7),
    };
    for (const [name, layer] of Object.entries(layers)) {
      const x = tensor(Float64Array.from(input as number[]), { requiresGrad: true });
      const out = layer.forward(x);
      close(out.data, results[name].output);
      out.sum().backward();
      close(x.grad!.data, results[name].grad);
    }
  });

  it('Embedding with a padding index: rows and the weight gradient', () => {
    const c = cases.embedding;
    const e = new Embedding(6, 3, { paddingIdx: 2, dtype: 'float64' });
    e.loadStateDict(stateOf(c.state));
    const out = e.forward(tensor(Int32Array.from(c.indices), { shape: [2, 3] }));
    close(out.data, c.output.values);
    out.mul(t64(c.v)).sum().backward();
    close(e.weight.grad!.data, c.weightGrad.values);
  });
});

const cnnSpec: ModelSpec = {
  input: [1, 10, 10],
  layers: [
    { type: 'conv2d', outChannels: 4, kernelSize: 3, padding: 1 },
    { type: 'batchNorm' },
    { type: 'activation', activation: 'relu' },
    { type: 'maxPool2d', kernelSize: 2 },
    { type: 'conv2d', outChannels: 6, kernelSize: 3 },
    { type: 'activation', activation: 'relu' },
    { type: 'avgPool2d', kernelSize: 2 },
    { type: 'adaptiveAvgPool2d', outputSize: 1 },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
  ],
};

describe('convolutions against PyTorch, with copied state dicts', () => {
  it('Conv2d with stride, padding, dilation and groups', () => {
    const c = cases.conv2d;
    const conv = new Conv2d(c.args[0], c.args[1], c.args[2], { ...c.options, dtype: 'float64' });
    expect(Object.keys(conv.stateDict())).toEqual(Object.keys(c.state));
    conv.loadStateDict(stateOf(c.state));
    checkStep(conv, { ...c, mode: 'train' });
  });

  it('Conv1d with padding and dilation', () => {
    const c = cases.conv1d;
    const conv = new Conv1d(c.args[0], c.args[1], c.args[2], { ...c.options, dtype: 'float64' });
    conv.loadStateDict(stateOf(c.state));
    checkStep(conv, { ...c, mode: 'train' });
  });

  it('Conv2d and Conv1d with reflect, circular and replicate padding (same included)', () => {
    for (const c of cases.paddingModes) {
      const make = c.input.shape.length === 4 ? Conv2d : Conv1d;
      const conv = new make(c.args[0], c.args[1], c.args[2], { ...c.options, dtype: 'float64' });
      conv.loadStateDict(stateOf(c.state));
      checkStep(conv, { ...c, mode: 'train' });
    }
  });

  it("a spec-built CNN takes nn.Sequential's state dict one to one, in train and eval mode", () => {
    const c = cases.cnn;
    const model = buildModel(cnnSpec, { dtype: 'float64' });
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(c.initial));
    model.loadStateDict(stateOf(c.initial));
    const x = t64(c.input);
    close(model.forward(x).data, c.trainOutput.values);
    const state = model.stateDict();
    for (const [name, j] of Object.entries(c.state as Record<string, Json>))
      close(state[name]!.data, j.values);
    close(model.eval().forward(x).data, c.evalOutput.values);

    // The PyTorch round trip knows the convolution and pooling layers: same names, and the code.
    const fresh = buildModel(cnnSpec, { dtype: 'float64', seed: 9 });
    loadTorchStateDict(fresh, stateOf(c.state));
    close(fresh.eval().forward(x).data, c.evalOutput.values);
    expect(Object.keys(toTorchStateDict(fresh))).toEqual(Object.keys(c.initial));
    const { code } = torchLayout(fresh);
    expect(code).toContain(
      "nn.Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=True, padding_mode='zeros'),  # 0",
    );
    expect(code).toContain('nn.MaxPool2d(2, stride=None, padding=0, dilation=1),  # 3');
    expect(code).toContain('nn.AvgPool2d(2, stride=None, padding=0, count_include_pad=True),  # 6');
    expect(code).toContain('nn.AdaptiveAvgPool2d(1),  # 7');
  });
});
