import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  conv1d,
  conv2d,
  convTranspose1d,
  convTranspose2d,
  maxPool2d,
  pad,
  type Tensor,
  tensor,
  valueAndGrad,
} from '../src/index.js';
import { expectAllClose } from './support.js';

/**
 * Results and gradients computed by PyTorch in float64
 * (scripts/conv-fixtures.py wrote test/fixtures/conv-torch.json).
 */
interface Case {
  name: string;
  op: string;
  options: Record<string, unknown>;
  inputs: { shape: number[]; data: number[] }[];
  output: { shape: number[]; data: number[] };
  v: number[];
  grads: number[][];
}

const fixtures = JSON.parse(
  readFileSync(new URL('./fixtures/conv-torch.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

// biome-ignore lint/suspicious/noExplicitAny: options are read from JSON in each op's spelling
type AnyOptions = any;

function run(c: Case, xs: Tensor[]): Tensor {
  const o = c.options as AnyOptions;
  const [x, w, b] = xs as [Tensor, Tensor, Tensor | undefined];
  switch (c.op) {
    case 'conv2d':
      return conv2d(x, w, b ?? null, o);
    case 'conv1d':
      return conv1d(x, w, b ?? null, o);
    case 'convTranspose2d':
      return convTranspose2d(x, w, b ?? null, o);
    case 'convTranspose1d':
      return convTranspose1d(x, w, b ?? null, o);
    case 'maxPool2d':
      return maxPool2d(x, o.kernelSize, o);
    case 'avgPool2d':
      return avgPool2d(x, o.kernelSize, o);
    case 'adaptiveAvgPool2d':
      return adaptiveAvgPool2d(x, o.outputSize);
    case 'pad':
      return pad(x, o.pads, o);
    default:
      throw new Error(`no runner for ${c.op}`);
  }
}

describe('agrees with PyTorch (float64 fixtures)', () => {
  it('has every op', () => {
    expect(new Set(fixtures.cases.map((c) => c.op)).size).toBe(8);
  });

  it.each(fixtures.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const xs = c.inputs.map((i) => tensor(Float64Array.from(i.data), { shape: i.shape }));
    const v = tensor(Float64Array.from(c.v), { shape: c.output.shape });
    const [y, grads] = valueAndGrad((...ts: Tensor[]) => {
      const out = run(c, ts);
      expect(out.shape).toEqual(c.output.shape);
      expectAllClose(out.data, c.output.data, { rtol: 1e-12, atol: 1e-12 });
      return out.mul(v).sum();
    })(...xs);
    expect(Number.isFinite(y.item())).toBe(true);
    grads.forEach((g, k) => {
      expectAllClose(g.data, c.grads[k]!, { rtol: 1e-12, atol: 1e-12 });
    });
  });
});
